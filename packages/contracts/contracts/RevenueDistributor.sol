// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title RevenueDistributor
/// @notice Holds revenue paid in ETH and lets each owner claim their cumulative entitlement,
///         proven against the Merkle root of the current epoch.
/// @dev Leaf = StandardMerkleTree leaf over
///      ['uint256','address','address','uint256','uint256'] =
///      (chainId, distributor, account, shares, cumulative), so a proof is valid on one chain and
///      one deployment only. `cumulative` is the account's total entitlement in wei since epoch 1;
///      a claim pays the part not claimed yet, so only the current root is ever needed.
///      Invariants: totalClaimed <= totalCumulative <= totalDeposited, and
///      address(this).balance >= totalDeposited - totalClaimed (equal unless ETH was forced in).
contract RevenueDistributor is AccessControl, ReentrancyGuard {
    bytes32 public constant PUBLISHER_ROLE = keccak256("PUBLISHER_ROLE");

    uint256 public currentEpoch;
    bytes32 public root;
    /// @notice Sum of all cumulative entitlements in the current root, in wei.
    uint256 public totalCumulative;
    uint256 public totalDeposited;
    uint256 public totalClaimed;
    /// @notice Wei paid to each account so far.
    mapping(address account => uint256) public claimed;

    event RevenueDeposited(address indexed from, uint256 amount);
    event RootPublished(uint256 indexed epoch, bytes32 root, uint256 totalCumulative);
    event Claimed(address indexed account, uint256 amount, uint256 cumulative, uint256 epoch);

    error ZeroAddress();
    error EpochNotNext(uint256 given, uint256 expected);
    error EntitlementDecreased(uint256 totalCumulative, uint256 previousTotalCumulative);
    error NotCovered(uint256 totalCumulative, uint256 totalDeposited);
    error InvalidProof(address account, uint256 cumulative, uint256 epoch);
    error NothingToClaim(address account, uint256 cumulative, uint256 alreadyClaimed);
    /// @dev Only reachable if a published tree's leaves sum to more than its totalCumulative.
    error ExceedsPublished(uint256 totalClaimedAfter, uint256 totalCumulative);
    error TransferFailed(address account, uint256 amount);

    constructor(address admin, address publisher) {
        if (admin == address(0) || publisher == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PUBLISHER_ROLE, publisher);
    }

    receive() external payable {
        _deposit();
    }

    function deposit() external payable {
        _deposit();
    }

    /// @notice Publishes the entitlements of `epoch`; it must be the next one (the first is 1).
    function publishRoot(uint256 epoch, bytes32 newRoot, uint256 newTotalCumulative)
        external
        onlyRole(PUBLISHER_ROLE)
    {
        uint256 expected = currentEpoch + 1;
        if (epoch != expected) revert EpochNotNext(epoch, expected);
        if (newTotalCumulative < totalCumulative) {
            revert EntitlementDecreased(newTotalCumulative, totalCumulative);
        }
        if (newTotalCumulative > totalDeposited) revert NotCovered(newTotalCumulative, totalDeposited);

        currentEpoch = epoch;
        root = newRoot;
        totalCumulative = newTotalCumulative;
        emit RootPublished(epoch, newRoot, newTotalCumulative);
    }

    /// @notice Pays `account` its `cumulative` entitlement minus what it has claimed already.
    ///         Anyone may submit; the ETH always goes to `account`.
    function claim(address account, uint256 shares, uint256 cumulative, bytes32[] calldata proof)
        external
        nonReentrant
    {
        bytes32 leaf = keccak256(
            bytes.concat(keccak256(abi.encode(block.chainid, address(this), account, shares, cumulative)))
        );
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof(account, cumulative, currentEpoch);

        uint256 already = claimed[account];
        if (cumulative <= already) revert NothingToClaim(account, cumulative, already);
        uint256 amount = cumulative - already;
        uint256 totalClaimedAfter = totalClaimed + amount;
        if (totalClaimedAfter > totalCumulative) revert ExceedsPublished(totalClaimedAfter, totalCumulative);

        // Effects before the interaction (and nonReentrant besides).
        claimed[account] = cumulative;
        totalClaimed = totalClaimedAfter;
        emit Claimed(account, amount, cumulative, currentEpoch);

        (bool ok,) = account.call{value: amount}("");
        if (!ok) revert TransferFailed(account, amount);
    }

    function _deposit() private {
        totalDeposited += msg.value;
        emit RevenueDeposited(msg.sender, msg.value);
    }
}
