import { examples } from '../contract/examples';
import { healthRoute } from './routes';

examples(healthRoute.responses[200]!, { status: 'ok', database: 'ok' });
