// serverless.yml's provider.httpApi.cors, from CORS_ALLOWED_ORIGINS as src/config.ts parses it: a bad value stops
// `serverless package/deploy/offline` with the message the configuration gives (no stack).
module.exports = async () => {
  const { tsImport } = await import('tsx/esm/api');
  const { corsConfig } = await tsImport('../src/config.ts', __filename);
  const { httpApiCors } = await tsImport('../src/http/cors.ts', __filename);
  try {
    return httpApiCors(corsConfig().CORS_ALLOWED_ORIGINS);
  } catch (err) {
    err.stack = err.message;
    throw err;
  }
};
