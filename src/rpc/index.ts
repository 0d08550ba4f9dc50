export { socketEndpoint, MAX_MESSAGE_BYTES, type SocketEndpoint } from './socket-endpoint.js';
export { exposeOnSocketServer, type SocketServerOptions } from './server.js';
export { connectSocket, connectWorker, wrapEndpoint, ConnectionLostError, type RemoteConnection } from './client.js';
