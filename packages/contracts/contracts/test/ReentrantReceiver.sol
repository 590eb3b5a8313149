// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IRevenueDistributor {
    function claim(address account, uint256 shares, uint256 cumulative, bytes32[] calldata proof) external;
}

/// @notice Test only. Owns an entitlement and, when paid, tries to claim it again from receive().
///         Records the attempt and its revert data instead of reverting, so the outer claim succeeds
///         and a test can see whether the re-entry got through.
contract ReentrantReceiver {
    IRevenueDistributor public distributor;
    uint256 public shares;
    uint256 public cumulative;
    bytes32[] private proof;

    uint256 public reentryAttempts;
    bool public reentrySucceeded;
    bytes public reentryRevertData;
    uint256 public received;

    function arm(IRevenueDistributor distributor_, uint256 shares_, uint256 cumulative_, bytes32[] calldata proof_)
        external
    {
        distributor = distributor_;
        shares = shares_;
        cumulative = cumulative_;
        proof = proof_;
    }

    receive() external payable {
        received += msg.value;
        if (reentryAttempts > 0) return;
        reentryAttempts = 1;
        try distributor.claim(address(this), shares, cumulative, proof) {
            reentrySucceeded = true;
        } catch (bytes memory data) {
            reentryRevertData = data;
        }
    }
}
