# Settings of the astara-appliance element (sourced by diskimage-builder in
# every phase). See ../README.rst.

# Services the agent in this image enables: a comma-separated subset of
# "router" and "loadbalancer". "loadbalancer" also needs the
# astara-loadbalancer element (nginx); the build checks it.
export DIB_ASTARA_ADVANCED_SERVICES=${DIB_ASTARA_ADVANCED_SERVICES:-router}

# One flag per service, for the `when:` conditions of package-installs.yaml.
export DIB_ASTARA_SERVICE_ROUTER=0
export DIB_ASTARA_SERVICE_LOADBALANCER=0
for _astara_service in ${DIB_ASTARA_ADVANCED_SERVICES//,/ }; do
    case "$_astara_service" in
        router) DIB_ASTARA_SERVICE_ROUTER=1 ;;
        loadbalancer) DIB_ASTARA_SERVICE_LOADBALANCER=1 ;;
        # An unknown name is reported (and fails the build) by
        # extra-data.d/50-astara-agent; sourcing must not exit.
        *) ;;
    esac
done
unset _astara_service

# Where the staged agent (bin/, dist/, package.json, production node_modules)
# is taken from on the build host. diskimage-builder/build-image.sh sets it.
export DIB_ASTARA_AGENT_DIR=${DIB_ASTARA_AGENT_DIR:-}

# The agent's state directory inside the image.
export DIB_ASTARA_STATE_DIR=${DIB_ASTARA_STATE_DIR:-/var/lib/astara}

# debootstrap's element writes DHCP stanzas for eth0/eth1 into
# /etc/network/interfaces.d; the management interface is configured from the
# config drive instead (and post-install.d removes any such file anyway).
export DIB_APT_MINIMAL_CREATE_INTERFACES=${DIB_APT_MINIMAL_CREATE_INTERFACES:-0}

# Kernel command line of a self-booting disk (the `vm` element's bootloader):
# classic interface names (eth0, eth1, ...) and a serial console.
export DIB_BOOTLOADER_DEFAULT_CMDLINE=${DIB_BOOTLOADER_DEFAULT_CMDLINE:-"nofb nomodeset gfxpayload=text net.ifnames=0"}

# Leave out what an appliance never uses: documentation, man pages and
# translations (dpkg excludes), and kernel modules for hardware a cloud VM
# does not have (graphics, sound, media, wireless, bluetooth, infiniband...).
# 0 keeps everything.
export DIB_ASTARA_TRIM=${DIB_ASTARA_TRIM:-1}
