// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Test only. An account that refuses ETH, to show a failed payout reverts the claim.
contract RejectingReceiver {
    error Rejected();

    receive() external payable {
        revert Rejected();
    }
}
