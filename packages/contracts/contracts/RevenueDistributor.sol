// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title RevenueDistributor
/// @notice Holds revenue paid in ETH (deposits, plain transfers and payments for inference
///         requests) and lets each owner claim their cumulative entitlement, proven against the
///         Merkle root of the current epoch or of the one before it.
/// @dev Leaf = StandardMerkleTree leaf over
///      ['uint256','address','address','uint256','uint256'] =
///      (chainId, distributor, account, shares, cumulative), so a proof is valid on one chain and
///      one deployment only. `cumulative` is the account's total entitlement in wei since epoch 1;
///      a claim pays the part not claimed yet.
///      Invariants: totalClaimed <= totalCumulative <= totalDeposited, and
///      address(this).balance >= totalDeposited - totalClaimed (equal unless ETH was forced in).
contract RevenueDistributor is AccessControl, ReentrancyGuard {
    bytes32 public constant PUBLISHER_ROLE = keccak256("PUBLISHER_ROLE");

    /// @dev One storage slot per paid request: 160 + 96 bits. 2^96 wei is about 7.9e10 ETH, far
    ///      above all ETH in existence; SafeCast refuses more (a chain whose native coin has a
    ///      larger supply) instead of truncating.
    struct Payment {
        address payer;
        uint96 amount;
    }

    uint256 public currentEpoch;
    bytes32 public root;
    /// @notice The root of epoch currentEpoch - 1, still accepted by claim; zero before epoch 2.
    bytes32 public previousRoot;
    /// @notice Sum of all cumulative entitlements in the current root, in wei.
    uint256 public totalCumulative;
    uint256 public totalDeposited;
    uint256 public totalClaimed;
    /// @notice Wei paid to each account so far.
    mapping(address account => uint256) public claimed;
    mapping(bytes32 requestId => Payment) private payments;

    event RevenueDeposited(address indexed from, uint256 amount);
    event RequestPaid(bytes32 indexed requestId, address indexed payer, uint256 amount);
    event RootPublished(uint256 indexed epoch, bytes32 root, uint256 totalCumulative);
    /// @param epoch The epoch whose root proved `cumulative`: currentEpoch, or currentEpoch - 1.
    event Claimed(address indexed account, uint256 amount, uint256 cumulative, uint256 epoch);

    error ZeroAddress();
    error ZeroPayment();
    error QuoteExpired(uint256 deadline, uint256 nowTimestamp);
    error AlreadyPaid(bytes32 requestId);
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

    /// @notice Pays for inference request `requestId`; the ETH is revenue like a deposit and enters
    ///         the next epoch. Each id is paid once: a second payment reverts AlreadyPaid, so
    ///         nobody pays twice for one request.
    /// @dev `deadline` (unix seconds) protects the payer, not the seller: a payment mined after the
    ///      quote it answers has lapsed reverts QuoteExpired instead of paying for a price the
    ///      coordinator no longer honours. Whether `amount` covers the quote, and whether `payer`
    ///      is who asked for it, is for the coordinator to check off chain (`paid`, `payer`).
    function pay(bytes32 requestId, uint256 deadline) external payable {
        if (msg.value == 0) revert ZeroPayment();
        if (block.timestamp > deadline) revert QuoteExpired(deadline, block.timestamp);
        if (payments[requestId].amount != 0) revert AlreadyPaid(requestId);

        payments[requestId] = Payment({payer: msg.sender, amount: SafeCast.toUint96(msg.value)});
        emit RequestPaid(requestId, msg.sender, msg.value);
        _deposit();
    }

    /// @notice Wei paid for `requestId`; zero while it is unpaid.
    function paid(bytes32 requestId) external view returns (uint256) {
        return payments[requestId].amount;
    }

    /// @notice Who paid for `requestId`; the zero address while it is unpaid.
    function payer(bytes32 requestId) external view returns (address) {
        return payments[requestId].payer;
    }

    /// @notice Publishes the entitlements of `epoch`; it must be the next one (the first is 1).
    ///         The root it replaces stays valid for claims as previousRoot until the next one.
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
        previousRoot = root;
        root = newRoot;
        totalCumulative = newTotalCumulative;
        emit RootPublished(epoch, newRoot, newTotalCumulative);
    }

    /// @notice Pays `account` its `cumulative` entitlement minus what it has claimed already.
    ///         Anyone may submit; the ETH always goes to `account`. The proof may be against the
    ///         current root or the previous one, so a claim built from epoch N's tree that is
    ///         mined after epoch N + 1's root still pays; a root two epochs old reverts
    ///         InvalidProof.
    /// @dev Why accepting previousRoot is safe:
    ///      - an account's `cumulative` never decreases from one root to the next (the publisher's
    ///        rule, packages/ownership), so cumulative_N <= cumulative_{N+1} for every account;
    ///      - `claimed[account]` only grows, and a claim pays cumulative - claimed[account] and
    ///        sets claimed[account] = cumulative;
    ///      so whatever order claims against root N and root N + 1 arrive in, the account is paid
    ///      max(cumulative_N, cumulative_{N+1}) = cumulative_{N+1} in all, never more: a claim
    ///      against the older root pays at most what the newer root entitles, and after a claim
    ///      against the newer root the older proof reverts NothingToClaim. A claim against root N
    ///      mined after N + 1 has exactly the effect it would have had if mined just before the
    ///      publication. Hence Σ claimed[account] = totalClaimed <= totalCumulative <=
    ///      totalDeposited still holds; ExceedsPublished enforces the first inequality on chain
    ///      even if a publisher broke the per-account rule.
    function claim(address account, uint256 shares, uint256 cumulative, bytes32[] calldata proof)
        external
        nonReentrant
    {
        bytes32 leaf = keccak256(
            bytes.concat(keccak256(abi.encode(block.chainid, address(this), account, shares, cumulative)))
        );
        uint256 epoch = currentEpoch;
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) {
            // Before epoch 2 there is no previous root to try.
            if (epoch < 2 || !MerkleProof.verifyCalldata(proof, previousRoot, leaf)) {
                revert InvalidProof(account, cumulative, epoch);
            }
            epoch -= 1;
        }

        uint256 already = claimed[account];
        if (cumulative <= already) revert NothingToClaim(account, cumulative, already);
        uint256 amount = cumulative - already;
        uint256 totalClaimedAfter = totalClaimed + amount;
        if (totalClaimedAfter > totalCumulative) revert ExceedsPublished(totalClaimedAfter, totalCumulative);

        // Effects before the interaction (and nonReentrant besides).
        claimed[account] = cumulative;
        totalClaimed = totalClaimedAfter;
        emit Claimed(account, amount, cumulative, epoch);

        (bool ok,) = account.call{value: amount}("");
        if (!ok) revert TransferFailed(account, amount);
    }

    function _deposit() private {
        totalDeposited += msg.value;
        emit RevenueDeposited(msg.sender, msg.value);
    }
}
