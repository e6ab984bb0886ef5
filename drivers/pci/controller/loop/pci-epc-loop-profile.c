// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback PCI endpoint controller: controller profiles.
 *
 * A profile makes the loop controllers present what a real endpoint
 * controller presents, so that functions meet its limits in the rig:
 * interrupt types, fixed and reserved BARs, BAR and outbound window
 * alignment, and DMA channels with their directions. It is chosen once, at
 * module load, for every controller; the "dma" parameter then takes the
 * DMA channels away, as on a board whose kernel has no driver for its DMA
 * engine.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/moduleparam.h>
#include <linux/sizes.h>
#include <linux/string.h>

#include "pci-epc-loop.h"

static char *profile = "generic";
module_param(profile, charp, 0444);
MODULE_PARM_DESC(profile,
		 "controller profile: generic (the default: everything allowed) or rk3588 (the RK3588's DesignWare endpoint controller)");

static bool dma = true;
module_param(dma, bool, 0444);
MODULE_PARM_DESC(dma, "register the DMA channels (default Y)");

/*
 * The RK3588's BARs as its driver in the same kernel describes them: 1 MiB
 * fixed BARs in Linux 6.12, resizable BARs (1 MiB at least) in 7.3.
 */
#ifdef EPC_LOOP_BAR_RESIZABLE
#define EPC_LOOP_RK3588_BAR		{ .type = BAR_RESIZABLE }
#else
#define EPC_LOOP_RK3588_BAR		{ .type = BAR_FIXED, .fixed_size = SZ_1M }
#endif

static const struct epc_loop_profile epc_loop_profiles[] = {
	{
		.name = "generic",
		.features = {
			.linkup_notifier	= true,
			.msi_capable		= true,
			.msix_capable		= true,
			.intx_capable		= true,
		},
		.dma_both_chans = EPC_LOOP_DMA_CHANNELS,
	},
	/*
	 * pcie-dw-rockchip.c and its PCIe 3.0 x4 controller's probe: no
	 * INTx in endpoint mode, 1 MiB BARs but BAR 4 (its ATU
	 * registers), 16 outbound iATU regions of 64 KiB alignment, each MSI
	 * sent through one of them, and an eDMA with 2 write and 2 read
	 * channels.
	 */
	{
		.name = "rk3588",
		.features = {
			.linkup_notifier	= true,
			.msi_capable		= true,
			.msix_capable		= true,
			.bar = {
				[BAR_0] = EPC_LOOP_RK3588_BAR,
				[BAR_1] = EPC_LOOP_RK3588_BAR,
				[BAR_2] = EPC_LOOP_RK3588_BAR,
				[BAR_3] = EPC_LOOP_RK3588_BAR,
				[BAR_4] = { .type = BAR_RESERVED },
				[BAR_5] = EPC_LOOP_RK3588_BAR,
			},
			.align			= SZ_64K,
		},
		.window_align = SZ_64K,
		.ob_windows = 16,
		.dma_read_chans = 2,
		.dma_write_chans = 2,
	},
};

/* The profile with all its channels, or with none when "dma" is off */
static struct epc_loop_profile epc_loop_profile;

/**
 * epc_loop_profile_init() - resolve the profile module parameters
 *
 * Return: 0, or -EINVAL for a profile name that does not exist.
 */
int epc_loop_profile_init(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(epc_loop_profiles); i++) {
		if (sysfs_streq(profile, epc_loop_profiles[i].name))
			break;
	}
	if (i == ARRAY_SIZE(epc_loop_profiles)) {
		pr_err("unknown profile \"%s\"\n", profile);
		return -EINVAL;
	}

	epc_loop_profile = epc_loop_profiles[i];
	if (!dma) {
		epc_loop_profile.dma_read_chans = 0;
		epc_loop_profile.dma_write_chans = 0;
		epc_loop_profile.dma_both_chans = 0;
	}
	pr_info("profile %s, %s\n", epc_loop_profile.name,
		dma ? "with DMA channels" : "no DMA channels");
	return 0;
}

/**
 * epc_loop_profile_get() - the profile every controller presents
 *
 * Return: the profile, once epc_loop_profile_init() accepted it.
 */
const struct epc_loop_profile *epc_loop_profile_get(void)
{
	return &epc_loop_profile;
}
