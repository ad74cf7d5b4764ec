"""Multi-site scale-out: edge nodes that decide offline, central nodes that gather, NATS between.

An edge node keeps its own SQLite ledger (hash chain and all) and replicates every row,
in order, to JetStream; central nodes pull those rows through one shared durable
consumer into the ``cluster_events`` table, one verifiable chain per edge, deduplicated
by (node, seq). Commands (a revoked credential, a lockdown) flow the other way on each
site's commands subject. Node heartbeats keep ``cluster_nodes`` current for the API,
the console and ``bastion cluster status``.
"""
