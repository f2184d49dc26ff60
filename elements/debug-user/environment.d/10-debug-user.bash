# debug-user element: a login for debugging an appliance. See ../README.rst.
export DIB_ASTARA_DEBUG_USER=${DIB_ASTARA_DEBUG_USER:-astara-debug}
export DIB_ASTARA_DEBUG_SSH_KEY=${DIB_ASTARA_DEBUG_SSH_KEY:-}
# The password is ASTARA_DEBUG_PASSWORD, exported before the build, and
# deliberately neither DIB_-prefixed (disk-image-create records every DIB_*
# variable in the manifests, which also go into the image as
# /etc/dib-manifests/dib_environment) nor mentioned here (environment files
# are traced into the build log). It reaches the chroot with the rest of the
# environment.
