# Kernel modules the initramfs loads to find the root filesystem: a
# space-separated list (see ../README.rst). The default covers virtio disks
# (virtio-blk and virtio-scsi) with ext4, which is how Nova boots the appliance.
export DIB_ASTARA_INITRAMFS_MODULES=${DIB_ASTARA_INITRAMFS_MODULES:-"virtio_pci virtio_blk virtio_scsi sd_mod ext4"}
