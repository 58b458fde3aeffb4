// Generated from proto/kv.proto by scripts/gen-schema.mjs — do not edit; edit kv.proto and rerun it.

import type { INamespace } from 'protobufjs'

/** The JSON descriptor of proto/kv.proto (protobufjs reflection). */
export const KV_SCHEMA: INamespace = {
  "nested": {
    "mrdb": {
      "nested": {
        "kv": {
          "nested": {
            "Requests": {
              "fields": {
                "requests": {
                  "rule": "repeated",
                  "type": "Request",
                  "id": 1
                }
              }
            },
            "Request": {
              "oneofs": {
                "_rangeId": {
                  "oneof": [
                    "rangeId"
                  ]
                },
                "_generation": {
                  "oneof": [
                    "generation"
                  ]
                },
                "op": {
                  "oneof": [
                    "get",
                    "put",
                    "delete",
                    "cas",
                    "scan",
                    "deleteRange",
                    "batch",
                    "prewrite",
                    "onePhaseCommit",
                    "commit",
                    "rollback",
                    "checkTxn",
                    "heartbeat",
                    "checksum",
                    "ranges"
                  ]
                }
              },
              "fields": {
                "id": {
                  "type": "uint32",
                  "id": 1
                },
                "rangeId": {
                  "type": "uint64",
                  "id": 2,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "generation": {
                  "type": "uint64",
                  "id": 3,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "get": {
                  "type": "Get",
                  "id": 10
                },
                "put": {
                  "type": "Put",
                  "id": 11
                },
                "delete": {
                  "type": "Delete",
                  "id": 12
                },
                "cas": {
                  "type": "Cas",
                  "id": 13
                },
                "scan": {
                  "type": "Scan",
                  "id": 14
                },
                "deleteRange": {
                  "type": "DeleteRange",
                  "id": 15
                },
                "batch": {
                  "type": "Batch",
                  "id": 16
                },
                "prewrite": {
                  "type": "Prewrite",
                  "id": 17
                },
                "onePhaseCommit": {
                  "type": "OnePhaseCommit",
                  "id": 18
                },
                "commit": {
                  "type": "Commit",
                  "id": 19
                },
                "rollback": {
                  "type": "Rollback",
                  "id": 20
                },
                "checkTxn": {
                  "type": "CheckTxn",
                  "id": 21
                },
                "heartbeat": {
                  "type": "Heartbeat",
                  "id": 22
                },
                "checksum": {
                  "type": "Checksum",
                  "id": 23
                },
                "ranges": {
                  "type": "Ranges",
                  "id": 24
                }
              }
            },
            "Get": {
              "oneofs": {
                "_ts": {
                  "oneof": [
                    "ts"
                  ]
                }
              },
              "fields": {
                "key": {
                  "type": "bytes",
                  "id": 1
                },
                "ts": {
                  "type": "uint64",
                  "id": 2,
                  "options": {
                    "proto3_optional": true
                  }
                }
              }
            },
            "Put": {
              "oneofs": {
                "_value": {
                  "oneof": [
                    "value"
                  ]
                }
              },
              "fields": {
                "key": {
                  "type": "bytes",
                  "id": 1
                },
                "value": {
                  "type": "bytes",
                  "id": 2,
                  "options": {
                    "proto3_optional": true
                  }
                }
              }
            },
            "Delete": {
              "fields": {
                "key": {
                  "type": "bytes",
                  "id": 1
                }
              }
            },
            "Cas": {
              "oneofs": {
                "_expected": {
                  "oneof": [
                    "expected"
                  ]
                },
                "_value": {
                  "oneof": [
                    "value"
                  ]
                }
              },
              "fields": {
                "key": {
                  "type": "bytes",
                  "id": 1
                },
                "expected": {
                  "type": "bytes",
                  "id": 2,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "value": {
                  "type": "bytes",
                  "id": 3,
                  "options": {
                    "proto3_optional": true
                  }
                }
              }
            },
            "Scan": {
              "oneofs": {
                "_limit": {
                  "oneof": [
                    "limit"
                  ]
                },
                "_ts": {
                  "oneof": [
                    "ts"
                  ]
                }
              },
              "fields": {
                "start": {
                  "type": "bytes",
                  "id": 1
                },
                "end": {
                  "type": "bytes",
                  "id": 2
                },
                "limit": {
                  "type": "uint32",
                  "id": 3,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "ts": {
                  "type": "uint64",
                  "id": 4,
                  "options": {
                    "proto3_optional": true
                  }
                }
              }
            },
            "DeleteRange": {
              "fields": {
                "start": {
                  "type": "bytes",
                  "id": 1
                },
                "end": {
                  "type": "bytes",
                  "id": 2
                }
              }
            },
            "Write": {
              "oneofs": {
                "_value": {
                  "oneof": [
                    "value"
                  ]
                }
              },
              "fields": {
                "key": {
                  "type": "bytes",
                  "id": 1
                },
                "value": {
                  "type": "bytes",
                  "id": 2,
                  "options": {
                    "proto3_optional": true
                  }
                }
              }
            },
            "Batch": {
              "fields": {
                "writes": {
                  "rule": "repeated",
                  "type": "Write",
                  "id": 1
                }
              }
            },
            "Mutation": {
              "oneofs": {
                "_value": {
                  "oneof": [
                    "value"
                  ]
                }
              },
              "fields": {
                "key": {
                  "type": "bytes",
                  "id": 1
                },
                "kind": {
                  "type": "Kind",
                  "id": 2
                },
                "value": {
                  "type": "bytes",
                  "id": 3,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "assertAbsent": {
                  "type": "bool",
                  "id": 4
                }
              },
              "nested": {
                "Kind": {
                  "values": {
                    "KIND_UNSPECIFIED": 0,
                    "PUT": 1,
                    "DELETE": 2,
                    "LOCK": 3
                  }
                }
              }
            },
            "Prewrite": {
              "oneofs": {
                "_startTs": {
                  "oneof": [
                    "startTs"
                  ]
                },
                "_ttlMs": {
                  "oneof": [
                    "ttlMs"
                  ]
                }
              },
              "fields": {
                "startTs": {
                  "type": "uint64",
                  "id": 1,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "primary": {
                  "type": "bytes",
                  "id": 2
                },
                "ttlMs": {
                  "type": "uint32",
                  "id": 3,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "mutations": {
                  "rule": "repeated",
                  "type": "Mutation",
                  "id": 4
                }
              }
            },
            "OnePhaseCommit": {
              "oneofs": {
                "_startTs": {
                  "oneof": [
                    "startTs"
                  ]
                },
                "_maxCommitTs": {
                  "oneof": [
                    "maxCommitTs"
                  ]
                }
              },
              "fields": {
                "startTs": {
                  "type": "uint64",
                  "id": 1,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "mutations": {
                  "rule": "repeated",
                  "type": "Mutation",
                  "id": 2
                },
                "maxCommitTs": {
                  "type": "uint64",
                  "id": 3,
                  "options": {
                    "proto3_optional": true
                  }
                }
              }
            },
            "Commit": {
              "oneofs": {
                "_startTs": {
                  "oneof": [
                    "startTs"
                  ]
                },
                "_commitTs": {
                  "oneof": [
                    "commitTs"
                  ]
                }
              },
              "fields": {
                "startTs": {
                  "type": "uint64",
                  "id": 1,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "commitTs": {
                  "type": "uint64",
                  "id": 2,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "keys": {
                  "rule": "repeated",
                  "type": "bytes",
                  "id": 3
                }
              }
            },
            "Rollback": {
              "oneofs": {
                "_startTs": {
                  "oneof": [
                    "startTs"
                  ]
                }
              },
              "fields": {
                "startTs": {
                  "type": "uint64",
                  "id": 1,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "keys": {
                  "rule": "repeated",
                  "type": "bytes",
                  "id": 2
                }
              }
            },
            "CheckTxn": {
              "oneofs": {
                "_startTs": {
                  "oneof": [
                    "startTs"
                  ]
                },
                "_nowTs": {
                  "oneof": [
                    "nowTs"
                  ]
                }
              },
              "fields": {
                "primary": {
                  "type": "bytes",
                  "id": 1
                },
                "startTs": {
                  "type": "uint64",
                  "id": 2,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "nowTs": {
                  "type": "uint64",
                  "id": 3,
                  "options": {
                    "proto3_optional": true
                  }
                }
              }
            },
            "Heartbeat": {
              "oneofs": {
                "_startTs": {
                  "oneof": [
                    "startTs"
                  ]
                },
                "_ttlMs": {
                  "oneof": [
                    "ttlMs"
                  ]
                }
              },
              "fields": {
                "primary": {
                  "type": "bytes",
                  "id": 1
                },
                "startTs": {
                  "type": "uint64",
                  "id": 2,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "ttlMs": {
                  "type": "uint32",
                  "id": 3,
                  "options": {
                    "proto3_optional": true
                  }
                }
              }
            },
            "Checksum": {
              "fields": {}
            },
            "Ranges": {
              "fields": {}
            },
            "Responses": {
              "fields": {
                "responses": {
                  "rule": "repeated",
                  "type": "Response",
                  "id": 1
                }
              }
            },
            "Response": {
              "oneofs": {
                "_value": {
                  "oneof": [
                    "value"
                  ]
                },
                "_succeeded": {
                  "oneof": [
                    "succeeded"
                  ]
                },
                "_current": {
                  "oneof": [
                    "current"
                  ]
                },
                "_rangeEnd": {
                  "oneof": [
                    "rangeEnd"
                  ]
                },
                "_resume": {
                  "oneof": [
                    "resume"
                  ]
                },
                "_deleted": {
                  "oneof": [
                    "deleted"
                  ]
                },
                "_commitTs": {
                  "oneof": [
                    "commitTs"
                  ]
                },
                "_appliedIndex": {
                  "oneof": [
                    "appliedIndex"
                  ]
                },
                "_checksum": {
                  "oneof": [
                    "checksum"
                  ]
                },
                "_keys": {
                  "oneof": [
                    "keys"
                  ]
                }
              },
              "fields": {
                "id": {
                  "type": "uint32",
                  "id": 1
                },
                "error": {
                  "type": "Error",
                  "id": 2
                },
                "descriptor": {
                  "type": "RangeDescriptor",
                  "id": 3
                },
                "value": {
                  "type": "bytes",
                  "id": 4,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "succeeded": {
                  "type": "bool",
                  "id": 5,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "current": {
                  "type": "bytes",
                  "id": 6,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "pairs": {
                  "rule": "repeated",
                  "type": "KeyValue",
                  "id": 7
                },
                "rangeEnd": {
                  "type": "bytes",
                  "id": 8,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "resume": {
                  "type": "bytes",
                  "id": 9,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "deleted": {
                  "type": "uint64",
                  "id": 10,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "commitTs": {
                  "type": "uint64",
                  "id": 11,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "txn": {
                  "type": "TxnState",
                  "id": 12
                },
                "appliedIndex": {
                  "type": "uint64",
                  "id": 13,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "checksum": {
                  "type": "string",
                  "id": 14,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "keys": {
                  "type": "uint64",
                  "id": 15,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "ranges": {
                  "rule": "repeated",
                  "type": "RangeRoute",
                  "id": 16
                },
                "nodes": {
                  "rule": "repeated",
                  "type": "NodeAddress",
                  "id": 17
                }
              }
            },
            "KeyValue": {
              "fields": {
                "key": {
                  "type": "bytes",
                  "id": 1
                },
                "value": {
                  "type": "bytes",
                  "id": 2
                }
              }
            },
            "TxnState": {
              "fields": {
                "state": {
                  "type": "State",
                  "id": 1
                },
                "commitTs": {
                  "type": "uint64",
                  "id": 2
                },
                "ttlMs": {
                  "type": "uint32",
                  "id": 3
                }
              },
              "nested": {
                "State": {
                  "values": {
                    "STATE_UNSPECIFIED": 0,
                    "COMMITTED": 1,
                    "ROLLED_BACK": 2,
                    "LOCKED": 3
                  }
                }
              }
            },
            "Error": {
              "oneofs": {
                "_leaderHint": {
                  "oneof": [
                    "leaderHint"
                  ]
                },
                "_key": {
                  "oneof": [
                    "key"
                  ]
                }
              },
              "fields": {
                "code": {
                  "type": "string",
                  "id": 1
                },
                "message": {
                  "type": "string",
                  "id": 2
                },
                "leaderHint": {
                  "type": "uint64",
                  "id": 3,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "lock": {
                  "type": "Lock",
                  "id": 4
                },
                "locks": {
                  "rule": "repeated",
                  "type": "Lock",
                  "id": 5
                },
                "key": {
                  "type": "bytes",
                  "id": 6,
                  "options": {
                    "proto3_optional": true
                  }
                },
                "descriptor": {
                  "type": "RangeDescriptor",
                  "id": 7
                }
              }
            },
            "Lock": {
              "fields": {
                "key": {
                  "type": "bytes",
                  "id": 1
                },
                "primary": {
                  "type": "bytes",
                  "id": 2
                },
                "startTs": {
                  "type": "uint64",
                  "id": 3
                },
                "ttlMs": {
                  "type": "uint32",
                  "id": 4
                }
              }
            },
            "RangeDescriptor": {
              "oneofs": {
                "_nextReplicaId": {
                  "oneof": [
                    "nextReplicaId"
                  ]
                }
              },
              "fields": {
                "rangeId": {
                  "type": "uint64",
                  "id": 1
                },
                "startKey": {
                  "type": "bytes",
                  "id": 2
                },
                "endKey": {
                  "type": "bytes",
                  "id": 3
                },
                "generation": {
                  "type": "uint64",
                  "id": 4
                },
                "replicas": {
                  "rule": "repeated",
                  "type": "Replica",
                  "id": 5
                },
                "nextReplicaId": {
                  "type": "uint64",
                  "id": 6,
                  "options": {
                    "proto3_optional": true
                  }
                }
              }
            },
            "Replica": {
              "fields": {
                "replicaId": {
                  "type": "uint64",
                  "id": 1
                },
                "nodeId": {
                  "type": "uint64",
                  "id": 2
                },
                "role": {
                  "type": "Role",
                  "id": 3
                }
              },
              "nested": {
                "Role": {
                  "values": {
                    "VOTER": 0,
                    "LEARNER": 1
                  }
                }
              }
            },
            "RangeRoute": {
              "fields": {
                "descriptor": {
                  "type": "RangeDescriptor",
                  "id": 1
                },
                "leaderNodeId": {
                  "type": "uint64",
                  "id": 2
                }
              }
            },
            "NodeAddress": {
              "fields": {
                "nodeId": {
                  "type": "uint64",
                  "id": 1
                },
                "address": {
                  "type": "string",
                  "id": 2
                }
              }
            }
          }
        }
      }
    }
  }
}
