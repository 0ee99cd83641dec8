// Runs before every test file: keeps the AWS SDK's Node-version notice out of test output.
import { silenceNodeVersionWarning } from '../src/local/quiet-warnings.ts';

silenceNodeVersionWarning();
