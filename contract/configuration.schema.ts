// Generated from contract/schema.ts by scripts/emit-schema.ts: do not edit.
export const configurationSchema = {
 "type": "object",
 "required": [
  "tenant_id",
  "hostname"
 ],
 "properties": {
  "tenant_id": {
   "type": "string",
   "pattern": "^[A-Za-z0-9_.:-]{1,255}$",
   "description": "identifier"
  },
  "hostname": {
   "type": "string",
   "maxLength": 253,
   "pattern": "^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$",
   "description": "host name"
  },
  "networks": {
   "type": "array",
   "items": {
    "type": "object",
    "required": [
     "network_id",
     "interface"
    ],
    "properties": {
     "network_id": {
      "type": "string",
      "pattern": "^[A-Za-z0-9_.:-]{1,255}$",
      "description": "identifier"
     },
     "network_type": {
      "anyOf": [
       {
        "type": "string",
        "const": "management"
       },
       {
        "type": "string",
        "const": "external"
       },
       {
        "type": "string",
        "const": "internal"
       },
       {
        "type": "string",
        "const": "isolated"
       },
       {
        "type": "string",
        "const": "loadbalancer"
       }
      ]
     },
     "name": {
      "type": "string",
      "maxLength": 255,
      "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
      "description": "text"
     },
     "interface": {
      "type": "object",
      "required": [
       "ifname",
       "addresses"
      ],
      "properties": {
       "ifname": {
        "type": "string",
        "pattern": "^ge(?:0|[1-9][0-9]{0,3})$",
        "description": "generic interface name"
       },
       "addresses": {
        "type": "array",
        "items": {
         "type": "string",
         "format": "ip-interface"
        },
        "maxItems": 4096
       },
       "mtu": {
        "anyOf": [
         {
          "type": "integer",
          "minimum": 68,
          "maximum": 65535
         },
         {
          "type": "null"
         }
        ]
       },
       "lladdr": {
        "anyOf": [
         {
          "type": "string",
          "pattern": "^[0-9A-Fa-f][02468AaCcEe](?::[0-9A-Fa-f]{2}){5}$",
          "description": "MAC address"
         },
         {
          "type": "null"
         }
        ]
       },
       "description": {
        "type": "string",
        "maxLength": 255,
        "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
        "description": "text"
       },
       "groups": {
        "type": "array",
        "items": {
         "type": "string",
         "maxLength": 255,
         "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
         "description": "text"
        }
       },
       "media": {
        "anyOf": [
         {
          "type": "string",
          "maxLength": 255,
          "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
          "description": "text"
         },
         {
          "type": "null"
         }
        ]
       },
       "state": {
        "anyOf": [
         {
          "type": "string",
          "const": "up"
         },
         {
          "type": "string",
          "const": "down"
         }
        ]
       }
      }
     },
     "mtu": {
      "anyOf": [
       {
        "type": "integer",
        "minimum": 68,
        "maximum": 65535
       },
       {
        "type": "null"
       }
      ]
     },
     "v4_conf_service": {
      "anyOf": [
       {
        "type": "string",
        "const": "static"
       },
       {
        "type": "string",
        "const": "dhcp"
       }
      ]
     },
     "v6_conf_service": {
      "anyOf": [
       {
        "type": "string",
        "const": "static"
       },
       {
        "type": "string",
        "const": "dhcp"
       },
       {
        "type": "string",
        "const": "ra"
       }
      ]
     },
     "subnets": {
      "type": "array",
      "items": {
       "type": "object",
       "required": [
        "cidr"
       ],
       "properties": {
        "id": {
         "type": "string",
         "pattern": "^[A-Za-z0-9_.:-]{1,255}$",
         "description": "identifier"
        },
        "cidr": {
         "type": "string",
         "format": "ip-network"
        },
        "gateway_ip": {
         "anyOf": [
          {
           "type": "string",
           "format": "ip-address-or-empty"
          },
          {
           "type": "null"
          }
         ]
        },
        "dhcp_enabled": {
         "type": "boolean"
        },
        "dns_nameservers": {
         "type": "array",
         "items": {
          "type": "string",
          "format": "ip-address"
         },
         "maxItems": 16
        },
        "host_routes": {
         "type": "array",
         "items": {
          "type": "object",
          "required": [
           "destination",
           "nexthop"
          ],
          "properties": {
           "destination": {
            "type": "string",
            "format": "ip-network"
           },
           "nexthop": {
            "type": "string",
            "format": "ip-address"
           }
          }
         },
         "maxItems": 1024
        }
       }
      },
      "maxItems": 256
     },
     "allocations": {
      "type": "array",
      "items": {
       "type": "object",
       "required": [
        "mac_address",
        "ip_addresses"
       ],
       "properties": {
        "mac_address": {
         "type": "string",
         "pattern": "^[0-9A-Fa-f][02468AaCcEe](?::[0-9A-Fa-f]{2}){5}$",
         "description": "MAC address"
        },
        "ip_addresses": {
         "type": "object",
         "patternProperties": {
          "^.*$": {
           "type": "boolean"
          }
         }
        },
        "hostname": {
         "type": "string",
         "maxLength": 253,
         "pattern": "^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$",
         "description": "host name"
        },
        "device_id": {
         "type": "string",
         "pattern": "^[A-Za-z0-9_.:-]{0,255}$",
         "description": "identifier"
        }
       }
      },
      "maxItems": 65536
     },
     "address_allocations": {
      "type": "array",
      "items": {
       "type": "object",
       "required": [
        "mac_address",
        "ip_addresses"
       ],
       "properties": {
        "mac_address": {
         "type": "string",
         "pattern": "^[0-9A-Fa-f][02468AaCcEe](?::[0-9A-Fa-f]{2}){5}$",
         "description": "MAC address"
        },
        "ip_addresses": {
         "type": "object",
         "patternProperties": {
          "^.*$": {
           "type": "boolean"
          }
         }
        },
        "hostname": {
         "type": "string",
         "maxLength": 253,
         "pattern": "^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$",
         "description": "host name"
        },
        "device_id": {
         "type": "string",
         "pattern": "^[A-Za-z0-9_.:-]{0,255}$",
         "description": "identifier"
        }
       }
      },
      "maxItems": 65536
     }
    }
   },
   "maxItems": 1024
  },
  "default_v4_gateway": {
   "anyOf": [
    {
     "type": "string",
     "format": "ipv4-address-or-empty"
    },
    {
     "type": "null"
    }
   ]
  },
  "floating_ips": {
   "type": "array",
   "items": {
    "type": "object",
    "required": [
     "floating_ip",
     "fixed_ip"
    ],
    "properties": {
     "floating_ip": {
      "type": "string",
      "format": "ip-address"
     },
     "fixed_ip": {
      "type": "string",
      "format": "ip-address"
     }
    }
   },
   "maxItems": 65536
  },
  "static_routes": {
   "type": "array",
   "items": {
    "anyOf": [
     {
      "type": "object",
      "required": [
       "destination"
      ],
      "properties": {
       "destination": {
        "type": "string",
        "format": "ip-network"
       },
       "next_hop": {
        "type": "string",
        "format": "ip-address"
       },
       "nexthop": {
        "type": "string",
        "format": "ip-address"
       }
      }
     },
     {
      "type": "array",
      "additionalItems": false,
      "items": [
       {
        "type": "string",
        "format": "ip-network"
       },
       {
        "type": "string",
        "format": "ip-address"
       }
      ],
      "minItems": 2
     }
    ]
   },
   "maxItems": 4096
  },
  "asn": {
   "type": "integer",
   "minimum": 1,
   "maximum": 4294967295
  },
  "neighbor_asn": {
   "type": "integer",
   "minimum": 1,
   "maximum": 4294967295
  },
  "orchestrator": {
   "type": "object",
   "properties": {
    "address": {
     "type": "string",
     "format": "ip-address"
    },
    "metadata_port": {
     "type": "integer",
     "minimum": 1,
     "maximum": 65535
    },
    "host": {
     "type": "string",
     "maxLength": 255,
     "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
     "description": "text"
    }
   }
  },
  "labels": {
   "type": "object",
   "patternProperties": {
    "^[A-Za-z0-9_.-]{1,64}$": {
     "type": "array",
     "items": {
      "type": "string",
      "format": "ip-network"
     },
     "maxItems": 1024
    }
   },
   "additionalProperties": false
  },
  "ha_resource": {
   "type": "boolean"
  },
  "ha_config": {
   "anyOf": [
    {
     "type": "object",
     "required": [
      "peers"
     ],
     "properties": {
      "peers": {
       "type": "array",
       "items": {
        "type": "string",
        "format": "ip-address"
       },
       "minItems": 1,
       "maxItems": 8
      },
      "priority": {
       "type": "integer",
       "minimum": 1,
       "maximum": 254
      }
     }
    },
    {
     "type": "null"
    }
   ]
  },
  "vpn": {
   "type": "object",
   "properties": {
    "ipsec": {
     "type": "array",
     "items": {
      "type": "object",
      "required": [
       "id",
       "ipsec_connections"
      ],
      "properties": {
       "id": {
        "type": "string",
        "pattern": "^[A-Za-z0-9_.:-]{1,255}$",
        "description": "identifier"
       },
       "name": {
        "type": "string",
        "maxLength": 255,
        "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
        "description": "text"
       },
       "status": {
        "type": "string",
        "maxLength": 255,
        "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
        "description": "text"
       },
       "admin_state_up": {
        "type": "boolean"
       },
       "external_v4_ip": {
        "anyOf": [
         {
          "type": "string",
          "format": "ip-address-or-empty"
         },
         {
          "type": "null"
         }
        ]
       },
       "external_v6_ip": {
        "anyOf": [
         {
          "type": "string",
          "format": "ip-address-or-empty"
         },
         {
          "type": "null"
         }
        ]
       },
       "subnet_id": {
        "anyOf": [
         {
          "type": "string",
          "pattern": "^[A-Za-z0-9_.:-]{0,255}$",
          "description": "identifier"
         },
         {
          "type": "null"
         }
        ]
       },
       "router_id": {
        "type": "string",
        "pattern": "^[A-Za-z0-9_.:-]{0,255}$",
        "description": "identifier"
       },
       "ipsec_connections": {
        "type": "array",
        "items": {
         "type": "object",
         "required": [
          "id",
          "peer_address",
          "psk",
          "ikepolicy",
          "ipsecpolicy"
         ],
         "properties": {
          "id": {
           "type": "string",
           "pattern": "^[A-Za-z0-9_.:-]{1,255}$",
           "description": "identifier"
          },
          "tenant_id": {
           "type": "string",
           "pattern": "^[A-Za-z0-9_.:-]{0,255}$",
           "description": "identifier"
          },
          "name": {
           "type": "string",
           "maxLength": 255,
           "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
           "description": "text"
          },
          "peer_address": {
           "type": "string",
           "format": "ip-address"
          },
          "peer_id": {
           "type": "string",
           "maxLength": 255,
           "pattern": "^[A-Za-z0-9_.:@=/-]*$",
           "description": "IKE identity"
          },
          "route_mode": {
           "anyOf": [
            {
             "type": "string",
             "const": "static"
            }
           ]
          },
          "mtu": {
           "type": "integer",
           "minimum": 68,
           "maximum": 65535
          },
          "initiator": {
           "anyOf": [
            {
             "type": "string",
             "const": "bi-directional"
            },
            {
             "type": "string",
             "const": "response-only"
            }
           ]
          },
          "auth_mode": {
           "anyOf": [
            {
             "type": "string",
             "const": "psk"
            }
           ]
          },
          "psk": {
           "type": "string",
           "minLength": 1,
           "maxLength": 255,
           "pattern": "^[\\u0020\\u0021\\u0023-\\u005b\\u005d-\\u007e]+$",
           "description": "pre-shared key"
          },
          "dpd": {
           "type": "object",
           "properties": {
            "action": {
             "anyOf": [
              {
               "type": "string",
               "const": "hold"
              },
              {
               "type": "string",
               "const": "clear"
              },
              {
               "type": "string",
               "const": "restart"
              },
              {
               "type": "string",
               "const": "disabled"
              },
              {
               "type": "string",
               "const": "restart-by-peer"
              }
             ]
            },
            "interval": {
             "type": "integer",
             "minimum": 1,
             "maximum": 86400
            },
            "timeout": {
             "type": "integer",
             "minimum": 1,
             "maximum": 86400
            }
           }
          },
          "status": {
           "type": "string",
           "maxLength": 255,
           "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
           "description": "text"
          },
          "admin_state_up": {
           "type": "boolean"
          },
          "vpnservice_id": {
           "type": "string",
           "pattern": "^[A-Za-z0-9_.:-]{0,255}$",
           "description": "identifier"
          },
          "local_ep_group": {
           "anyOf": [
            {
             "type": "object",
             "required": [
              "endpoints"
             ],
             "properties": {
              "id": {
               "type": "string",
               "pattern": "^[A-Za-z0-9_.:-]{1,255}$",
               "description": "identifier"
              },
              "tenant_id": {
               "type": "string",
               "pattern": "^[A-Za-z0-9_.:-]{0,255}$",
               "description": "identifier"
              },
              "name": {
               "type": "string",
               "maxLength": 255,
               "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
               "description": "text"
              },
              "type": {
               "anyOf": [
                {
                 "type": "string",
                 "const": "subnet"
                },
                {
                 "type": "string",
                 "const": "cidr"
                }
               ]
              },
              "endpoints": {
               "type": "array",
               "items": {
                "type": "string",
                "maxLength": 64
               },
               "maxItems": 256
              }
             }
            },
            {
             "type": "null"
            }
           ]
          },
          "peer_ep_group": {
           "anyOf": [
            {
             "type": "object",
             "required": [
              "endpoints"
             ],
             "properties": {
              "id": {
               "type": "string",
               "pattern": "^[A-Za-z0-9_.:-]{1,255}$",
               "description": "identifier"
              },
              "tenant_id": {
               "type": "string",
               "pattern": "^[A-Za-z0-9_.:-]{0,255}$",
               "description": "identifier"
              },
              "name": {
               "type": "string",
               "maxLength": 255,
               "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
               "description": "text"
              },
              "type": {
               "anyOf": [
                {
                 "type": "string",
                 "const": "subnet"
                },
                {
                 "type": "string",
                 "const": "cidr"
                }
               ]
              },
              "endpoints": {
               "type": "array",
               "items": {
                "type": "string",
                "maxLength": 64
               },
               "maxItems": 256
              }
             }
            },
            {
             "type": "null"
            }
           ]
          },
          "peer_cidrs": {
           "type": "array",
           "items": {
            "type": "string",
            "format": "ip-network"
           },
           "maxItems": 256
          },
          "ikepolicy": {
           "type": "object",
           "properties": {
            "id": {
             "type": "string",
             "pattern": "^[A-Za-z0-9_.:-]{1,255}$",
             "description": "identifier"
            },
            "tenant_id": {
             "type": "string",
             "pattern": "^[A-Za-z0-9_.:-]{0,255}$",
             "description": "identifier"
            },
            "name": {
             "type": "string",
             "maxLength": 255,
             "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
             "description": "text"
            },
            "ike_version": {
             "anyOf": [
              {
               "type": "string",
               "const": "v1"
              },
              {
               "type": "string",
               "const": "v2"
              }
             ]
            },
            "auth_algorithm": {
             "anyOf": [
              {
               "type": "string",
               "const": "sha1"
              },
              {
               "type": "string",
               "const": "sha256"
              },
              {
               "type": "string",
               "const": "sha384"
              },
              {
               "type": "string",
               "const": "sha512"
              }
             ]
            },
            "encryption_algorithm": {
             "anyOf": [
              {
               "type": "string",
               "const": "3des"
              },
              {
               "type": "string",
               "const": "aes-128"
              },
              {
               "type": "string",
               "const": "aes-192"
              },
              {
               "type": "string",
               "const": "aes-256"
              },
              {
               "type": "string",
               "const": "aes-128-ctr"
              },
              {
               "type": "string",
               "const": "aes-192-ctr"
              },
              {
               "type": "string",
               "const": "aes-256-ctr"
              },
              {
               "type": "string",
               "const": "aes-128-ccm-8"
              },
              {
               "type": "string",
               "const": "aes-192-ccm-8"
              },
              {
               "type": "string",
               "const": "aes-256-ccm-8"
              },
              {
               "type": "string",
               "const": "aes-128-ccm-12"
              },
              {
               "type": "string",
               "const": "aes-192-ccm-12"
              },
              {
               "type": "string",
               "const": "aes-256-ccm-12"
              },
              {
               "type": "string",
               "const": "aes-128-ccm-16"
              },
              {
               "type": "string",
               "const": "aes-192-ccm-16"
              },
              {
               "type": "string",
               "const": "aes-256-ccm-16"
              },
              {
               "type": "string",
               "const": "aes-128-gcm-8"
              },
              {
               "type": "string",
               "const": "aes-192-gcm-8"
              },
              {
               "type": "string",
               "const": "aes-256-gcm-8"
              },
              {
               "type": "string",
               "const": "aes-128-gcm-12"
              },
              {
               "type": "string",
               "const": "aes-192-gcm-12"
              },
              {
               "type": "string",
               "const": "aes-256-gcm-12"
              },
              {
               "type": "string",
               "const": "aes-128-gcm-16"
              },
              {
               "type": "string",
               "const": "aes-192-gcm-16"
              },
              {
               "type": "string",
               "const": "aes-256-gcm-16"
              }
             ]
            },
            "pfs": {
             "anyOf": [
              {
               "type": "string",
               "const": "group2"
              },
              {
               "type": "string",
               "const": "group5"
              },
              {
               "type": "string",
               "const": "group14"
              },
              {
               "type": "string",
               "const": "group15"
              },
              {
               "type": "string",
               "const": "group16"
              },
              {
               "type": "string",
               "const": "group17"
              },
              {
               "type": "string",
               "const": "group18"
              },
              {
               "type": "string",
               "const": "group19"
              },
              {
               "type": "string",
               "const": "group20"
              },
              {
               "type": "string",
               "const": "group21"
              },
              {
               "type": "string",
               "const": "group31"
              }
             ]
            },
            "lifetime": {
             "type": "object",
             "properties": {
              "units": {
               "anyOf": [
                {
                 "type": "string",
                 "const": "seconds"
                },
                {
                 "type": "string",
                 "const": "kilobytes"
                }
               ]
              },
              "value": {
               "type": "integer",
               "minimum": 60,
               "maximum": 2147483647
              }
             }
            },
            "phase1_negotiation_mode": {
             "anyOf": [
              {
               "type": "string",
               "const": "main"
              },
              {
               "type": "string",
               "const": "aggressive"
              }
             ]
            }
           }
          },
          "ipsecpolicy": {
           "type": "object",
           "properties": {
            "id": {
             "type": "string",
             "pattern": "^[A-Za-z0-9_.:-]{1,255}$",
             "description": "identifier"
            },
            "tenant_id": {
             "type": "string",
             "pattern": "^[A-Za-z0-9_.:-]{0,255}$",
             "description": "identifier"
            },
            "name": {
             "type": "string",
             "maxLength": 255,
             "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
             "description": "text"
            },
            "transform_protocol": {
             "anyOf": [
              {
               "type": "string",
               "const": "esp"
              },
              {
               "type": "string",
               "const": "ah"
              },
              {
               "type": "string",
               "const": "ah-esp"
              }
             ]
            },
            "auth_algorithm": {
             "anyOf": [
              {
               "type": "string",
               "const": "sha1"
              },
              {
               "type": "string",
               "const": "sha256"
              },
              {
               "type": "string",
               "const": "sha384"
              },
              {
               "type": "string",
               "const": "sha512"
              }
             ]
            },
            "encryption_algorithm": {
             "anyOf": [
              {
               "type": "string",
               "const": "3des"
              },
              {
               "type": "string",
               "const": "aes-128"
              },
              {
               "type": "string",
               "const": "aes-192"
              },
              {
               "type": "string",
               "const": "aes-256"
              },
              {
               "type": "string",
               "const": "aes-128-ctr"
              },
              {
               "type": "string",
               "const": "aes-192-ctr"
              },
              {
               "type": "string",
               "const": "aes-256-ctr"
              },
              {
               "type": "string",
               "const": "aes-128-ccm-8"
              },
              {
               "type": "string",
               "const": "aes-192-ccm-8"
              },
              {
               "type": "string",
               "const": "aes-256-ccm-8"
              },
              {
               "type": "string",
               "const": "aes-128-ccm-12"
              },
              {
               "type": "string",
               "const": "aes-192-ccm-12"
              },
              {
               "type": "string",
               "const": "aes-256-ccm-12"
              },
              {
               "type": "string",
               "const": "aes-128-ccm-16"
              },
              {
               "type": "string",
               "const": "aes-192-ccm-16"
              },
              {
               "type": "string",
               "const": "aes-256-ccm-16"
              },
              {
               "type": "string",
               "const": "aes-128-gcm-8"
              },
              {
               "type": "string",
               "const": "aes-192-gcm-8"
              },
              {
               "type": "string",
               "const": "aes-256-gcm-8"
              },
              {
               "type": "string",
               "const": "aes-128-gcm-12"
              },
              {
               "type": "string",
               "const": "aes-192-gcm-12"
              },
              {
               "type": "string",
               "const": "aes-256-gcm-12"
              },
              {
               "type": "string",
               "const": "aes-128-gcm-16"
              },
              {
               "type": "string",
               "const": "aes-192-gcm-16"
              },
              {
               "type": "string",
               "const": "aes-256-gcm-16"
              }
             ]
            },
            "encapsulation_mode": {
             "anyOf": [
              {
               "type": "string",
               "const": "tunnel"
              },
              {
               "type": "string",
               "const": "transport"
              }
             ]
            },
            "lifetime": {
             "type": "object",
             "properties": {
              "units": {
               "anyOf": [
                {
                 "type": "string",
                 "const": "seconds"
                },
                {
                 "type": "string",
                 "const": "kilobytes"
                }
               ]
              },
              "value": {
               "type": "integer",
               "minimum": 60,
               "maximum": 2147483647
              }
             }
            },
            "pfs": {
             "anyOf": [
              {
               "type": "string",
               "const": "group2"
              },
              {
               "type": "string",
               "const": "group5"
              },
              {
               "type": "string",
               "const": "group14"
              },
              {
               "type": "string",
               "const": "group15"
              },
              {
               "type": "string",
               "const": "group16"
              },
              {
               "type": "string",
               "const": "group17"
              },
              {
               "type": "string",
               "const": "group18"
              },
              {
               "type": "string",
               "const": "group19"
              },
              {
               "type": "string",
               "const": "group20"
              },
              {
               "type": "string",
               "const": "group21"
              },
              {
               "type": "string",
               "const": "group31"
              }
             ]
            }
           }
          }
         }
        },
        "maxItems": 256
       }
      }
     },
     "maxItems": 64
    }
   }
  },
  "services": {
   "type": "object",
   "properties": {
    "loadbalancer": {
     "anyOf": [
      {
       "type": "object",
       "required": [
        "id",
        "vip_address",
        "listeners"
       ],
       "properties": {
        "id": {
         "type": "string",
         "pattern": "^[A-Za-z0-9_.:-]{1,255}$",
         "description": "identifier"
        },
        "tenant_id": {
         "type": "string",
         "pattern": "^[A-Za-z0-9_.:-]{0,255}$",
         "description": "identifier"
        },
        "name": {
         "type": "string",
         "maxLength": 255,
         "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
         "description": "text"
        },
        "admin_state_up": {
         "type": "boolean"
        },
        "status": {
         "type": "string",
         "maxLength": 255,
         "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
         "description": "text"
        },
        "vip_address": {
         "type": "string",
         "format": "ip-address"
        },
        "vip_port": {},
        "listeners": {
         "type": "array",
         "items": {
          "type": "object",
          "required": [
           "id",
           "protocol",
           "protocol_port"
          ],
          "properties": {
           "id": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_.:-]{1,255}$",
            "description": "identifier"
           },
           "tenant_id": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_.:-]{0,255}$",
            "description": "identifier"
           },
           "name": {
            "type": "string",
            "maxLength": 255,
            "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
            "description": "text"
           },
           "admin_state_up": {
            "type": "boolean"
           },
           "protocol": {
            "anyOf": [
             {
              "type": "string",
              "const": "HTTP"
             },
             {
              "type": "string",
              "const": "HTTPS"
             },
             {
              "type": "string",
              "const": "TCP"
             }
            ]
           },
           "protocol_port": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535
           },
           "default_pool": {
            "anyOf": [
             {
              "type": "object",
              "required": [
               "id",
               "members"
              ],
              "properties": {
               "id": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_.:-]{1,255}$",
                "description": "identifier"
               },
               "tenant_id": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_.:-]{0,255}$",
                "description": "identifier"
               },
               "name": {
                "type": "string",
                "maxLength": 255,
                "pattern": "^[^\\u0000-\\u001f\\u007f\"'\\\\`{};$#]*$",
                "description": "text"
               },
               "admin_state_up": {
                "type": "boolean"
               },
               "lb_algorithm": {
                "anyOf": [
                 {
                  "type": "string",
                  "const": "ROUND_ROBIN"
                 },
                 {
                  "type": "string",
                  "const": "LEAST_CONNECTIONS"
                 },
                 {
                  "type": "string",
                  "const": "SOURCE_IP"
                 }
                ]
               },
               "protocol": {
                "anyOf": [
                 {
                  "type": "string",
                  "const": "HTTP"
                 },
                 {
                  "type": "string",
                  "const": "HTTPS"
                 },
                 {
                  "type": "string",
                  "const": "TCP"
                 }
                ]
               },
               "healthmonitor": {
                "anyOf": [
                 {
                  "type": "object",
                  "required": [
                   "type",
                   "delay",
                   "timeout",
                   "max_retries"
                  ],
                  "properties": {
                   "id": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9_.:-]{1,255}$",
                    "description": "identifier"
                   },
                   "tenant_id": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9_.:-]{0,255}$",
                    "description": "identifier"
                   },
                   "type": {
                    "anyOf": [
                     {
                      "type": "string",
                      "const": "PING"
                     },
                     {
                      "type": "string",
                      "const": "TCP"
                     },
                     {
                      "type": "string",
                      "const": "HTTP"
                     },
                     {
                      "type": "string",
                      "const": "HTTPS"
                     }
                    ]
                   },
                   "delay": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 3600
                   },
                   "timeout": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 3600
                   },
                   "max_retries": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 10
                   },
                   "http_method": {
                    "anyOf": [
                     {
                      "type": "string",
                      "const": "GET"
                     },
                     {
                      "type": "string",
                      "const": "HEAD"
                     },
                     {
                      "type": "string",
                      "const": "POST"
                     },
                     {
                      "type": "string",
                      "const": "PUT"
                     },
                     {
                      "type": "string",
                      "const": "DELETE"
                     },
                     {
                      "type": "string",
                      "const": "OPTIONS"
                     },
                     {
                      "type": "string",
                      "const": "PATCH"
                     },
                     {
                      "type": "string",
                      "const": "TRACE"
                     },
                     {
                      "type": "string",
                      "const": "CONNECT"
                     }
                    ]
                   },
                   "url_path": {
                    "type": "string",
                    "maxLength": 255,
                    "pattern": "^/[A-Za-z0-9._~!&()*+,=:@%/?-]*$",
                    "description": "URL path"
                   },
                   "expected_codes": {
                    "type": "string",
                    "maxLength": 64,
                    "pattern": "^[1-5][0-9]{2}(?:-[1-5][0-9]{2})?(?:,[1-5][0-9]{2}(?:-[1-5][0-9]{2})?)*$"
                   },
                   "admin_state_up": {
                    "type": "boolean"
                   }
                  }
                 },
                 {
                  "type": "null"
                 }
                ]
               },
               "session_persistence": {
                "anyOf": [
                 {
                  "type": "object",
                  "required": [
                   "type"
                  ],
                  "properties": {
                   "type": {
                    "anyOf": [
                     {
                      "type": "string",
                      "const": "SOURCE_IP"
                     },
                     {
                      "type": "string",
                      "const": "HTTP_COOKIE"
                     },
                     {
                      "type": "string",
                      "const": "APP_COOKIE"
                     }
                    ]
                   },
                   "cookie_name": {
                    "anyOf": [
                     {
                      "type": "string",
                      "pattern": "^[A-Za-z0-9_-]{0,64}$",
                      "description": "cookie name"
                     },
                     {
                      "type": "null"
                     }
                    ]
                   }
                  }
                 },
                 {
                  "type": "null"
                 }
                ]
               },
               "members": {
                "type": "array",
                "items": {
                 "type": "object",
                 "required": [
                  "address",
                  "protocol_port"
                 ],
                 "properties": {
                  "id": {
                   "type": "string",
                   "pattern": "^[A-Za-z0-9_.:-]{1,255}$",
                   "description": "identifier"
                  },
                  "tenant_id": {
                   "type": "string",
                   "pattern": "^[A-Za-z0-9_.:-]{0,255}$",
                   "description": "identifier"
                  },
                  "admin_state_up": {
                   "type": "boolean"
                  },
                  "address": {
                   "type": "string",
                   "format": "ip-address"
                  },
                  "protocol_port": {
                   "type": "integer",
                   "minimum": 1,
                   "maximum": 65535
                  },
                  "weight": {
                   "type": "integer",
                   "minimum": 0,
                   "maximum": 256
                  },
                  "subnet": {}
                 }
                },
                "maxItems": 1024
               }
              }
             },
             {
              "type": "null"
             }
            ]
           }
          }
         },
         "maxItems": 256
        }
       }
      },
      {
       "type": "null"
      }
     ]
    },
    "router": {}
   }
  }
 }
} as const;
