export { startAnthropicServer, type AnthropicServer, type AnthropicServerOptions, type AnthropicServerStats } from './server.js';
export { Signer } from './signature.js';
