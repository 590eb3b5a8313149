import { defineChain, getAddress, isAddress, type Address } from 'viem';
import { createConfig, http, injected, mock, type Config } from 'wagmi';
import type { ChainInfo } from './chain-info.ts';

/** Anvil's chain id: the only chain where the ?mockWallet= connector is offered (its dev accounts are unlocked). */
export const ANVIL_CHAIN_ID = 31337;

/**
 * The account of `?mockWallet=0x…` in the page's address (before or inside the hash route), or
 * null. The mock connector signs and sends through the RPC, which only an unlocked anvil account allows.
 */
export function mockWalletAccount(href = location.href): Address | null {
  const url = new URL(href);
  const inHash = url.hash.includes('?') ? new URLSearchParams(url.hash.slice(url.hash.indexOf('?'))) : null;
  const raw = url.searchParams.get('mockWallet') ?? inHash?.get('mockWallet') ?? null;
  return raw && isAddress(raw, { strict: false }) ? getAddress(raw) : null;
}

/** A wagmi config for the coordinator's chain: an injected wallet, and on anvil the mock wallet when asked for. */
export function walletConfig(chain: ChainInfo, mockAccount: Address | null): Config {
  const evmChain = defineChain({
    id: chain.chainId,
    name: chain.chainId === ANVIL_CHAIN_ID ? 'Anvil' : `Chain ${chain.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [chain.rpcUrl] } },
  });
  const useMock = mockAccount !== null && chain.chainId === ANVIL_CHAIN_ID;
  return createConfig({
    chains: [evmChain],
    connectors: useMock ? [injected(), mock({ accounts: [mockAccount], features: { reconnect: true } })] : [injected()],
    transports: { [evmChain.id]: http(chain.rpcUrl) },
  });
}
