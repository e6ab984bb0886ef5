# SPDX-License-Identifier: GPL-2.0
#
# Build the project's modules out of tree against a configured and built
# kernel tree:
#
#   make KDIR=<kernel build tree>          build the modules
#   make KDIR=<kernel build tree> modules_install [INSTALL_MOD_PATH=...]
#   make KDIR=<kernel build tree> C=1 W=1  build with sparse and W=1
#
# The NVMe function includes private headers of drivers/nvme/host, so KDIR
# must be a full source tree, not a headers-only package.

KDIR ?= /lib/modules/$(shell uname -r)/build

# Build what the target kernel's configuration allows, as the dependencies
# in Kconfig say: the loopback controller is x86-64 only (it builds a PCI
# root bus of its own, whose sysdata is x86's), the function needs the
# endpoint core and the NVMe fabrics host.
kconfig_on = $(shell grep -Eqx '$(1)=(y|m)' $(KDIR)/.config 2>/dev/null && echo y)
kconfig_all = $(if $(strip $(foreach c,$(1),$(if $(call kconfig_on,$(c)),,no))),,y)
CONFIG_PCI_EPC_LOOP ?= $(if $(call kconfig_all,CONFIG_X86_64 CONFIG_PCI_ENDPOINT CONFIG_PCI_MSI),m,n)
CONFIG_PCI_EPF_NVME ?= $(if $(call kconfig_all,CONFIG_PCI_ENDPOINT CONFIG_NVME_FABRICS),m,n)
ifneq ($(CONFIG_PCI_EPF_NVME),m)
$(warning the NVMe function is not built: $(KDIR)/.config lacks CONFIG_PCI_ENDPOINT or CONFIG_NVME_FABRICS)
endif

KBUILD_ARGS := -C $(KDIR) M=$(CURDIR) \
	CONFIG_PCI_EPC_LOOP=$(CONFIG_PCI_EPC_LOOP) \
	CONFIG_PCI_EPF_NVME=$(CONFIG_PCI_EPF_NVME)

all modules:
	$(MAKE) $(KBUILD_ARGS) modules

modules_install:
	$(MAKE) $(KBUILD_ARGS) modules_install

clean:
	$(MAKE) $(KBUILD_ARGS) clean

.PHONY: all modules modules_install clean
