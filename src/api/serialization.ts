// Response serializers, built by each route's first answer instead of at start: fastify's default
// compiles a fast-json-stringify function for every response schema of every route while the
// server starts, a large part of `ampere serve`'s time to its URL line (issue 14). The functions
// are the default ones (same compiler, same options); only the moment they are built moves.
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type SerializerFactory = ReturnType<typeof SerializerSelector>;

export function lazySerializers(): SerializerFactory {
  const build = SerializerSelector();
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options);
    return (route) => {
      let serialize: ((doc: unknown) => string) | undefined;
      return (doc) => {
        serialize ??= compile(route);
        return serialize(doc);
      };
    };
  };
}
