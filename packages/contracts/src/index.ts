// Browser-safe: ABIs, bytecode, deployment, reads, payments, leaf encoding. Node-only helpers (anvil) are in ./node.ts.
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
export {
  paidFor,
  PaymentError,
  payRequest,
  type PayRequestClients,
  type PayRequestParameters,
  type PayRequestReturnType,
  type RequestPayment,
} from './payments.ts';
export { ENTITLEMENT_LEAF_TYPES, entitlementLeaf, type EntitlementLeaf, type EntitlementLeafParameters } from './leaf.ts';
