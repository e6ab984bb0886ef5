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
CONFIG_PCI_EPC_LOOP ?= m
CONFIG_PCI_EPF_NVME ?= $(if $(wildcard $(CURDIR)/drivers/pci/endpoint/functions/Makefile),m,n)

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
