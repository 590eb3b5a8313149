// Browser-safe: ABIs, bytecode, deployment, reads, leaf encoding. Node-only helpers (anvil) are in ./node.ts.
export { compiler, revenueDistributorAbi, revenueDistributorBytecode } from './generated/artifacts.ts';
export {
  deployedAddress,
  deployRevenueDistributor,
  DeploymentError,
  type DeployClients,
  type DeployRevenueDistributorParameters,
} from './deploy.ts';
export { readDistributorState, type DistributorState } from './distributor.ts';
export { revertErrorName } from './errors.ts';
export { ENTITLEMENT_LEAF_TYPES, entitlementLeaf, type EntitlementLeaf, type EntitlementLeafParameters } from './leaf.ts';
