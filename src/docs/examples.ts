import { examples } from '../contract/examples';
import { docsRoute, openApiRoute } from './routes';

examples(openApiRoute.responses[200]!, { openapi: '3.1.0' });
examples(docsRoute.responses[200]!, '<!doctype html><html lang="en">…</html>');
