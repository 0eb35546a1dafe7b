// Hive Gateway's configuration for the benchmark: the defaults, served from the supergraph Mesh
// Compose wrote (benchmarks/peers.py passes its path). Kept so the gateway does not pick up
// mesh.config.ts, the composition config, as its own.
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({});
