# PUT /v2.0/dhrouterstatus/<router id> {"routerstatus": {"status": S}}: the URL
# of Astara's own Neutron extension. Stock Neutron refuses any write of a
# router's status (400 "Cannot update read-only attribute status").
from neutron.api import extensions as neutron_extensions
from neutron.api.v2 import base
from neutron_lib.api import extensions
from neutron_lib.plugins import directory

COLLECTION = 'dhrouterstatus'
RESOURCE = 'routerstatus'
STATUSES = ['ACTIVE', 'DOWN', 'BUILD', 'ERROR']
RESOURCE_ATTRIBUTE_MAP = {
    COLLECTION: {
        'id': {'allow_post': False, 'allow_put': False, 'is_visible': True},
        'tenant_id': {'allow_post': False, 'allow_put': False, 'is_visible': True},
        'status': {'allow_post': False, 'allow_put': True, 'is_visible': True,
                   'validate': {'type:values': STATUSES}},
    },
}


class Dhrouterstatus(extensions.ExtensionDescriptor):
    """File name and class name must be the alias (Neutron's loader)."""

    @classmethod
    def get_name(cls):
        return 'Router status'

    @classmethod
    def get_alias(cls):
        return COLLECTION

    @classmethod
    def get_description(cls):
        return 'Lets an appliance orchestrator report a router status'

    @classmethod
    def get_updated(cls):
        return '2026-01-01T00:00:00-00:00'

    @classmethod
    def get_resources(cls):
        plugin = directory.get_plugin('ROUTERSTATUS')
        controller = base.create_resource(COLLECTION, RESOURCE, plugin, RESOURCE_ATTRIBUTE_MAP[COLLECTION])
        return [neutron_extensions.ResourceExtension(COLLECTION, controller)]

    def get_extended_resources(self, version):
        return RESOURCE_ATTRIBUTE_MAP if version == '2.0' else {}
