// Mesh Compose: the supergraph Hive Gateway serves, generated from openapi.yaml (the sandbox's
// VSee endpoints) by @omnigraph/openapi. VSEE_API is the sandbox's api_v3 base URL.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('VSee', {
        source: './openapi.yaml',
        endpoint: process.env.VSEE_API ?? 'http://127.0.0.1:8000/vc/next/api_v3',
        // Each caller's own credentials, forwarded on every upstream call.
        operationHeaders: {
          'X-ApiToken': '{context.headers.x-apitoken}',
          'X-AccountCode': '{context.headers.x-accountcode}',
        },
      }),
    },
  ],
  // VSee's list rows carry neither the intake's id nor the room's code (as VSee's example):
  // hang each row's detail (GET /visits/{id}, which embeds the intake) under it, as the
  // gateway and Apollo read it.
  additionalTypeDefs: /* GraphQL */ `
    extend type VisitItem {
      detail: VisitDetail
        @resolveTo(
          sourceName: "VSee"
          sourceTypeName: "Query"
          sourceFieldName: "visit"
          requiredSelectionSet: "{ id }"
          sourceArgs: { id: "{root.id}" }
          result: "data"
        )
    }
  `,
});
