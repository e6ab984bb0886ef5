// SPDX-License-Identifier: GPL-2.0
/*
 * PCI endpoint NVMe function: configfs attributes.
 *
 * The "nvme" group of a function holds what the controller is made of:
 * the fabrics connect options of its backend, its queues, its MDTS, the
 * data it may hold for commands in flight, its interrupt coalescing
 * defaults, the DMA channels it may take, how it writes completions, and
 * the serial number, model and firmware revision the host sees.
 * The values are used when the function is bound and cannot change while
 * it is.
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#include <linux/configfs.h>
#include <linux/log2.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "pci-epf-nvme.h"

static struct pci_epf_nvme *to_pci_epf_nvme(struct config_item *item)
{
	return container_of(to_config_group(item), struct pci_epf_nvme, group);
}

/**
 * pci_epf_nvme_cfg_init() - set the configuration defaults
 * @nvme: the function
 */
void pci_epf_nvme_cfg_init(struct pci_epf_nvme *nvme)
{
	nvme->cfg.connect_opts = NULL;
	nvme->cfg.nr_io_queues = PCI_EPF_NVME_DEF_IO_QUEUES;
	nvme->cfg.queue_depth = PCI_EPF_NVME_DEF_QUEUE_DEPTH;
	nvme->cfg.mdts_kb = PCI_EPF_NVME_DEF_MDTS_KB;
	nvme->cfg.max_inflight_kb = PCI_EPF_NVME_DEF_INFLIGHT_KB;
	nvme->cfg.irq_coal_thr = 0;
	nvme->cfg.irq_coal_time = 0;
	nvme->cfg.dma_chans = PCI_EPF_NVME_MAX_DMA_CHANS;
	nvme->cfg.cq_windows = PCI_EPF_NVME_DEF_CQ_WINDOWS;
	nvme->cfg.serial[0] = '\0';
	nvme->cfg.model[0] = '\0';
	nvme->cfg.firmware[0] = '\0';
}

/**
 * pci_epf_nvme_cfg_free() - free the configuration
 * @nvme: the function
 */
void pci_epf_nvme_cfg_free(struct pci_epf_nvme *nvme)
{
	kfree(nvme->cfg.connect_opts);
	nvme->cfg.connect_opts = NULL;
}

/*
 * The options go to the fabrics layer as they are, which checks them when
 * the function is bound. Reject here what can never work: no transport or
 * no subsystem NQN, empty options, a discovery controller (it has no
 * namespaces), and the hidden_ns option, which the function adds itself.
 */
static int pci_epf_nvme_check_opts(struct device *dev, const char *opts)
{
	bool transport = false, nqn = false;
	char *copy, *p, *o;
	int ret = 0;

	copy = kstrdup(opts, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;

	o = copy;
	while ((p = strsep(&o, ",")) != NULL) {
		if (!*p) {
			dev_err(dev, "connect_opts: empty option\n");
			ret = -EINVAL;
			break;
		}
		if (str_has_prefix(p, "transport=")) {
			transport = true;
		} else if (str_has_prefix(p, "nqn=")) {
			nqn = true;
		} else if (!strcmp(p, "discovery") ||
			   !strcmp(p, "hidden_ns")) {
			dev_err(dev, "connect_opts: option \"%s\" not allowed\n",
				p);
			ret = -EINVAL;
			break;
		}
	}

	if (!ret && (!transport || !nqn)) {
		dev_err(dev, "connect_opts: transport= and nqn= are required\n");
		ret = -EINVAL;
	}

	kfree(copy);
	return ret;
}

static ssize_t pci_epf_nvme_connect_opts_show(struct config_item *item,
					      char *page)
{
	struct pci_epf_nvme *nvme = to_pci_epf_nvme(item);
	ssize_t ret;

	mutex_lock(&nvme->cfg_lock);
	ret = sysfs_emit(page, "%s\n", nvme->cfg.connect_opts ?: "");
	mutex_unlock(&nvme->cfg_lock);

	return ret;
}

static ssize_t pci_epf_nvme_connect_opts_store(struct config_item *item,
					       const char *page, size_t len)
{
	struct pci_epf_nvme *nvme = to_pci_epf_nvme(item);
	struct device *dev = pci_epf_nvme_dev(nvme);
	char *opts;
	int ret;

	opts = kstrndup(page, strcspn(page, "\n"), GFP_KERNEL);
	if (!opts)
		return -ENOMEM;

	ret = pci_epf_nvme_check_opts(dev, opts);
	if (ret)
		goto free;

	mutex_lock(&nvme->cfg_lock);
	if (nvme->bound) {
		mutex_unlock(&nvme->cfg_lock);
		dev_err(dev, "connect_opts: the function is bound\n");
		ret = -EBUSY;
		goto free;
	}
	swap(nvme->cfg.connect_opts, opts);
	mutex_unlock(&nvme->cfg_lock);
	ret = len;
free:
	kfree(opts);
	return ret;
}

CONFIGFS_ATTR(pci_epf_nvme_, connect_opts);

static ssize_t pci_epf_nvme_uint_show(struct pci_epf_nvme *nvme, char *page,
				      unsigned int *val)
{
	ssize_t ret;

	mutex_lock(&nvme->cfg_lock);
	ret = sysfs_emit(page, "%u\n", *val);
	mutex_unlock(&nvme->cfg_lock);

	return ret;
}

static ssize_t pci_epf_nvme_uint_store(struct pci_epf_nvme *nvme,
				       const char *page, size_t len,
				       const char *name, unsigned int *val,
				       unsigned int min, unsigned int max,
				       bool pow2)
{
	struct device *dev = pci_epf_nvme_dev(nvme);
	unsigned int v;
	int ret;

	ret = kstrtouint(page, 0, &v);
	if (ret) {
		dev_err(dev, "%s: not a number\n", name);
		return ret;
	}
	if (v < min || v > max || (pow2 && !is_power_of_2(v))) {
		dev_err(dev, "%s: must be %sbetween %u and %u\n", name,
			pow2 ? "a power of 2 " : "", min, max);
		return -EINVAL;
	}

	mutex_lock(&nvme->cfg_lock);
	if (nvme->bound) {
		mutex_unlock(&nvme->cfg_lock);
		dev_err(dev, "%s: the function is bound\n", name);
		return -EBUSY;
	}
	*val = v;
	mutex_unlock(&nvme->cfg_lock);

	return len;
}

/*
 * An unsigned attribute of the nvme group, held in nvme->cfg.NAME and
 * accepted from MIN to MAX (and only as a power of two if POW2).
 */
#define PCI_EPF_NVME_UINT_ATTR(name, min, max, pow2)			\
static unsigned int *pci_epf_nvme_##name##_val(struct config_item *item) \
{									\
	return &to_pci_epf_nvme(item)->cfg.name;			\
}									\
									\
static ssize_t pci_epf_nvme_##name##_show(struct config_item *item,	\
					  char *page)			\
{									\
	return pci_epf_nvme_uint_show(to_pci_epf_nvme(item), page,	\
				      pci_epf_nvme_##name##_val(item));	\
}									\
									\
static ssize_t pci_epf_nvme_##name##_store(struct config_item *item,	\
					   const char *page, size_t len) \
{									\
	return pci_epf_nvme_uint_store(to_pci_epf_nvme(item), page, len, \
				       #name,				\
				       pci_epf_nvme_##name##_val(item),	\
				       min, max, pow2);			\
}									\
									\
static struct configfs_attribute pci_epf_nvme_attr_##name = {		\
	.ca_name	= #name,					\
	.ca_mode	= 0644,						\
	.ca_owner	= THIS_MODULE,					\
	.show		= pci_epf_nvme_##name##_show,			\
	.store		= pci_epf_nvme_##name##_store,			\
}

PCI_EPF_NVME_UINT_ATTR(nr_io_queues, 1, PCI_EPF_NVME_MAX_IO_QUEUES, false);
PCI_EPF_NVME_UINT_ATTR(queue_depth, PCI_EPF_NVME_MIN_QUEUE_DEPTH,
		       PCI_EPF_NVME_MAX_QUEUE_DEPTH, false);
PCI_EPF_NVME_UINT_ATTR(mdts_kb, PCI_EPF_NVME_MIN_MDTS_KB,
		       PCI_EPF_NVME_MAX_MDTS_KB, true);
PCI_EPF_NVME_UINT_ATTR(max_inflight_kb, PCI_EPF_NVME_MIN_INFLIGHT_KB,
		       PCI_EPF_NVME_MAX_INFLIGHT_KB, false);
PCI_EPF_NVME_UINT_ATTR(irq_coal_thr, 0, 255, false);
PCI_EPF_NVME_UINT_ATTR(irq_coal_time, 0, 255, false);
PCI_EPF_NVME_UINT_ATTR(dma_chans, 0, PCI_EPF_NVME_MAX_DMA_CHANS, false);
PCI_EPF_NVME_UINT_ATTR(cq_windows, 0, PCI_EPF_NVME_MAX_IO_QUEUES + 1, false);

/*
 * An identity string: what Identify Controller shows the host, so that
 * several functions can be told apart. The specification makes the field
 * ASCII, printable characters only (20h to 7Eh), padded with spaces: a
 * longer value or another character is refused. An empty value gives
 * the target's back.
 */
static ssize_t pci_epf_nvme_ident_store(struct pci_epf_nvme *nvme,
					const char *name, char *field,
					size_t max, const char *page,
					size_t len)
{
	struct device *dev = pci_epf_nvme_dev(nvme);
	size_t n = strcspn(page, "\n"), i;

	if (n > max) {
		dev_err(dev, "%s: at most %zu characters\n", name, max);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (page[i] < 0x20 || page[i] > 0x7e) {
			dev_err(dev, "%s: printable ASCII characters only\n",
				name);
			return -EINVAL;
		}
	}

	mutex_lock(&nvme->cfg_lock);
	if (nvme->bound) {
		mutex_unlock(&nvme->cfg_lock);
		dev_err(dev, "%s: the function is bound\n", name);
		return -EBUSY;
	}
	memcpy(field, page, n);
	field[n] = '\0';
	mutex_unlock(&nvme->cfg_lock);

	return len;
}

static ssize_t pci_epf_nvme_ident_show(struct pci_epf_nvme *nvme,
				       const char *field, char *page)
{
	ssize_t ret;

	mutex_lock(&nvme->cfg_lock);
	ret = sysfs_emit(page, "%s\n", field);
	mutex_unlock(&nvme->cfg_lock);

	return ret;
}

/* An identity attribute, held in nvme->cfg.NAME, at most MAX characters */
#define PCI_EPF_NVME_IDENT_ATTR(name, max)				\
static char *pci_epf_nvme_##name##_field(struct config_item *item)	\
{									\
	return to_pci_epf_nvme(item)->cfg.name;				\
}									\
									\
static ssize_t pci_epf_nvme_##name##_show(struct config_item *item,	\
					  char *page)			\
{									\
	return pci_epf_nvme_ident_show(to_pci_epf_nvme(item),		\
				       pci_epf_nvme_##name##_field(item), \
				       page);				\
}									\
									\
static ssize_t pci_epf_nvme_##name##_store(struct config_item *item,	\
					   const char *page, size_t len) \
{									\
	return pci_epf_nvme_ident_store(to_pci_epf_nvme(item), #name,	\
					pci_epf_nvme_##name##_field(item), \
					max, page, len);		\
}									\
									\
static struct configfs_attribute pci_epf_nvme_attr_##name = {		\
	.ca_name	= #name,					\
	.ca_mode	= 0644,						\
	.ca_owner	= THIS_MODULE,					\
	.show		= pci_epf_nvme_##name##_show,			\
	.store		= pci_epf_nvme_##name##_store,			\
}

PCI_EPF_NVME_IDENT_ATTR(serial, PCI_EPF_NVME_SN_LEN);
PCI_EPF_NVME_IDENT_ATTR(model, PCI_EPF_NVME_MN_LEN);
PCI_EPF_NVME_IDENT_ATTR(firmware, PCI_EPF_NVME_FR_LEN);

static struct configfs_attribute *pci_epf_nvme_attrs[] = {
	&pci_epf_nvme_attr_connect_opts,
	&pci_epf_nvme_attr_nr_io_queues,
	&pci_epf_nvme_attr_queue_depth,
	&pci_epf_nvme_attr_mdts_kb,
	&pci_epf_nvme_attr_max_inflight_kb,
	&pci_epf_nvme_attr_irq_coal_thr,
	&pci_epf_nvme_attr_irq_coal_time,
	&pci_epf_nvme_attr_dma_chans,
	&pci_epf_nvme_attr_cq_windows,
	&pci_epf_nvme_attr_serial,
	&pci_epf_nvme_attr_model,
	&pci_epf_nvme_attr_firmware,
	NULL,
};

static const struct config_item_type pci_epf_nvme_group_type = {
	.ct_attrs	= pci_epf_nvme_attrs,
	.ct_owner	= THIS_MODULE,
};

/**
 * pci_epf_nvme_add_cfs() - create the "nvme" configfs group of a function
 * @epf: the function
 * @group: the function's configfs group
 *
 * Return: the group.
 */
struct config_group *pci_epf_nvme_add_cfs(struct pci_epf *epf,
					  struct config_group *group)
{
	struct pci_epf_nvme *nvme = epf_get_drvdata(epf);

	config_group_init_type_name(&nvme->group, "nvme",
				    &pci_epf_nvme_group_type);
	return &nvme->group;
}
