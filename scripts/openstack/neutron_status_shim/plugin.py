# The service plugin behind the dhrouterstatus extension: reads and writes
# routers.status directly (the L3 plugin has no write path for it).
from neutron.db.models import l3 as l3_models
from neutron_lib.db import api as db_api
from neutron_lib.exceptions import l3 as l3_exceptions
from neutron_lib.services import base as service_base


def _as_dict(router):
    return {'id': router.id, 'tenant_id': router.project_id, 'status': router.status}


class RouterStatusPlugin(service_base.ServicePluginBase):
    supported_extension_aliases = ['dhrouterstatus']

    @classmethod
    def get_plugin_type(cls):
        return 'ROUTERSTATUS'

    def get_plugin_description(self):
        return 'Writable router status for an appliance orchestrator'

    @staticmethod
    def _router(context, router_id):
        router = context.session.query(l3_models.Router).filter_by(id=router_id).first()
        if router is None:
            raise l3_exceptions.RouterNotFound(router_id=router_id)
        return router

    def get_routerstatus(self, context, id, fields=None):
        with db_api.CONTEXT_READER.using(context):
            return _as_dict(self._router(context, id))

    def get_dhrouterstatus(self, context, filters=None, fields=None, **kwargs):
        with db_api.CONTEXT_READER.using(context):
            return [_as_dict(router) for router in context.session.query(l3_models.Router)]

    def update_routerstatus(self, context, id, routerstatus):
        with db_api.CONTEXT_WRITER.using(context):
            router = self._router(context, id)
            router.status = routerstatus['routerstatus']['status']
            return _as_dict(router)
