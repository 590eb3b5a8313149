// `@openshard/contracts/node`: a local anvil chain and clients for it (spawns a process; Node only).
export {
  ANVIL_CHAIN_ID,
  AnvilNotFoundError,
  AnvilStartError,
  DEV_ACCOUNT_COUNT,
  DEV_MNEMONIC,
  resolveAnvilBinary,
  startAnvil,
  type Anvil,
  type StartAnvilParameters,
} from './anvil.ts';
export { createLocalClients, type LocalClients } from './clients.ts';
