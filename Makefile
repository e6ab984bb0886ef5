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
ifneq ($(MAKECMDGOALS),install)
$(warning the NVMe function is not built: $(KDIR)/.config lacks CONFIG_PCI_ENDPOINT or CONFIG_NVME_FABRICS)
endif
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

# The board's setup tool, its boot unit and the sample configurations
# (no kernel tree needed):
#
#   make install [DESTDIR=<staging root>] [PREFIX=/usr/local]
#
# installs PREFIX/sbin/pci-epf-nvme-setup, the systemd unit in
# SYSTEMD_UNIT_DIR, and in PREFIX/share/pci-epf-nvme/ the sample
# configurations and the init script for a board without systemd.
PREFIX ?= /usr/local
SYSTEMD_UNIT_DIR ?= /etc/systemd/system
SETUP_SHARE = $(DESTDIR)$(PREFIX)/share/pci-epf-nvme
# The unit and the init script name the tool by its installed path
SETUP_SED = sed 's|/usr/local/sbin/|$(PREFIX)/sbin/|g'

install:
	install -D -m 0755 scripts/pci-epf-nvme-setup $(DESTDIR)$(PREFIX)/sbin/pci-epf-nvme-setup
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR) $(SETUP_SHARE)
	$(SETUP_SED) scripts/setup/pci-epf-nvme-setup.service \
		>$(DESTDIR)$(SYSTEMD_UNIT_DIR)/pci-epf-nvme-setup.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/pci-epf-nvme-setup.service
	$(SETUP_SED) scripts/setup/pci-epf-nvme-setup.init >$(SETUP_SHARE)/pci-epf-nvme-setup.init
	chmod 0755 $(SETUP_SHARE)/pci-epf-nvme-setup.init
	install -m 0644 scripts/setup/*.json $(SETUP_SHARE)/

.PHONY: all modules modules_install clean install
