// GraphQL Code Generator over the committed schema and the shipped operations (client preset):
// the types a TypeScript app would generate; `tsc --noEmit` then type-checks them.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../schema.graphql',
  documents: ['../operations/*.graphql'],
  // Generated into tools/generated/ (git-ignored); nothing generated is committed.
  generates: {
    'generated/': {
      preset: 'client',
      config: {
        // Custom scalars as the schema's @specifiedBy contracts describe them, not `unknown`.
        scalars: {
          DateTime: 'string',
          Date: 'string',
          Decimal: 'string',
          URL: 'string',
          JSON: 'unknown',
        },
        strictScalars: true,
        useTypeImports: true,
        enumsAsTypes: true,
      },
    },
  },
  ignoreNoDocuments: false,
  silent: true,
};

export default config;
