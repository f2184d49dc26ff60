# Neutron adds <package>.extensions to its extension path only when that
# sub-module is already imported; without this import neutron-server exits
# with ExtensionsNotFound: ['dhrouterstatus'].
from neutron_status_shim import extensions  # noqa: F401
