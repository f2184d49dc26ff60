"""report_ovs_agent.py HOST: report an "Open vSwitch agent" alive on HOST to neutron-server, once.

ML2's openvswitch mechanism driver binds a port only on a host where such an agent
reported its state; Nova's fake compute host has none, and every boot would end in
PortBindingFailed. neutron.conf's agent_down_time (a day) keeps one report alive.
The report is an oslo.messaging "call" on topic q-reports-plugin, sent as plain AMQP.
"""
import datetime
import json
import sys
import uuid

import kombu

host = sys.argv[1]
reply_queue = 'reply_' + uuid.uuid4().hex
state = {
    'binary': 'neutron-openvswitch-agent', 'host': host, 'topic': 'N/A', 'agent_type': 'Open vSwitch agent',
    'configurations': {'bridge_mappings': {'external': 'br-ex', 'physnet1': 'br-vlan'}, 'tunnel_types': ['vxlan'], 'tunneling_ip': '127.0.0.1'},
    'start_flag': True, 'uuid': str(uuid.uuid4()),
}
message = {
    'method': 'report_state', 'version': '1.0', 'namespace': None,
    'args': {'agent_state': {'agent_state': state}, 'time': datetime.datetime.utcnow().isoformat()},
    '_msg_id': uuid.uuid4().hex, '_reply_q': reply_queue, '_unique_id': uuid.uuid4().hex, '_timeout': None,
    '_context_is_admin': True, '_context_roles': ['admin'], '_context_user_id': None,
    '_context_project_id': None, '_context_tenant_id': None, '_context_request_id': 'req-' + str(uuid.uuid4()),
}
replies = []
with kombu.Connection('amqp://guest:guest@127.0.0.1:5672//') as connection:
    queue = kombu.Queue(reply_queue, exchange=kombu.Exchange('', type='direct'), routing_key=reply_queue,
                        durable=False, auto_delete=True)
    with connection.Consumer(queue, callbacks=[lambda body, m: (replies.append(json.loads(body['oslo.message'])), m.ack())],
                             accept=['json']):
        connection.Producer().publish({'oslo.version': '2.0', 'oslo.message': json.dumps(message)},
                                      exchange=kombu.Exchange('neutron', type='topic', durable=False),
                                      routing_key='q-reports-plugin', serializer='json')
        while not (replies and replies[-1].get('ending')):
            connection.drain_events(timeout=30)
failure = next((r['failure'] for r in replies if r.get('failure')), None)
if failure:
    sys.exit('report_state failed: ' + str(failure)[:300])
