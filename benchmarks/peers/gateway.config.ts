// Hive Gateway's configuration for the benchmark: the defaults, served from the supergraph Mesh
// Compose wrote (benchmarks/peers.py passes its path). Also keeps the gateway from picking up
// mesh.config.ts, the composition config, as its own.
import http from 'node:http';
import { defineConfig } from '@graphql-hive/gateway';

// The upstream pool, as for the Apollo peer and the gateway: at most 100 connections, idle ones
// closed after 4 s, before the sandbox (uvicorn, 5 s keep-alive) closes them under a request in
// flight. Node's default agent waits 5 s too, and a reused socket then fails with ECONNRESET.
http.globalAgent = new http.Agent({ keepAlive: true, maxSockets: 100, timeout: 4000 });

export const gatewayConfig = defineConfig({});
