"""Return and reject reason codes: what a bank's code means and whether to stop using the account.

One table for every rail: ISO 20022 ExternalReturnReason1Code and ExternalStatusReason1Code
(SEPA returns and pain.002 rejections; both lists share most codes, so one row serves both) and
NACHA return reason codes (R01…, with dishonored R61-R70 and contested R71-R77 told apart).

`disables_bank_account` answers the one question the payouts context must decide on a return:
will sending to this bank account again fail the same way? Closed, invalid or wrong accounts, a
deceased holder, a frozen account or a receiver who refuses our entries: yes, so the account is
put on hold until the seller confirms or replaces it. Insufficient funds, duplicates, time-outs,
file errors and "customer asked": no, the next payout may go through.

Banks invent codes, so `describe_reason` never raises: an unknown code comes back with
`known=False` and `disables_bank_account=False` (an operator sees it; the account stays usable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

ReasonFamily = Literal["iso20022", "nacha", "unknown"]
NachaReturnKind = Literal["return", "dishonored_return", "contested_dishonored_return"]

REASON_CODE_LENGTH_MAX: Final = 35  # longer "codes" are free text, kept but cut for display


@dataclass(frozen=True, slots=True)
class ReasonCode:
    """What a return or rejection reason code means for Sellerpay."""

    code: str
    name: str
    description: str
    disables_bank_account: bool
    family: ReasonFamily
    known: bool = True

    @property
    def nacha_kind(self) -> NachaReturnKind | None:
        """For NACHA codes: a plain return, a dishonored return (R61-R70) or a contested one."""
        if self.family != "nacha":
            return None
        number = int(self.code[1:])
        if 61 <= number <= 70:
            return "dishonored_return"
        if 71 <= number <= 77:
            return "contested_dishonored_return"
        return "return"


# (code, name, description, disables_bank_account)
_ISO_20022: Final[tuple[tuple[str, str, str, bool], ...]] = (
    ("AC01", "IncorrectAccountNumber", "Account number is invalid or missing", True),
    ("AC02", "InvalidDebtorAccountNumber", "Debtor account number invalid or missing", True),
    ("AC03", "InvalidCreditorAccountNumber", "Creditor account number invalid or missing", True),
    ("AC04", "ClosedAccountNumber", "Account number specified has been closed", True),
    ("AC05", "ClosedDebtorAccountNumber", "Debtor account number closed", True),
    ("AC06", "BlockedAccount", "Account specified is blocked, prohibiting posting", True),
    ("AC07", "ClosedCreditorAccountNumber", "Creditor account number closed", True),
    ("AC13", "InvalidDebtorAccountType", "Debtor account type missing or invalid", True),
    ("AC14", "InvalidCreditorAccountType", "Creditor account type missing or invalid", True),
    ("AC15", "AccountDetailsChanged", "The account details for the counterparty changed", True),
    ("AG01", "TransactionForbidden", "Transaction forbidden on this type of account", True),
    ("AG02", "InvalidBankOperationCode", "Bank operation code is not valid", False),
    ("AM01", "ZeroAmount", "Specified amount is zero", False),
    ("AM02", "NotAllowedAmount", "Amount exceeds the maximum allowed", False),
    ("AM03", "NotAllowedCurrency", "Currency not allowed for the amount or account", False),
    ("AM04", "InsufficientFunds", "Amount of funds available is insufficient", False),
    ("AM05", "Duplication", "Duplication of the transaction", False),
    ("AM06", "TooLowAmount", "Amount below the minimum agreed", False),
    ("AM07", "BlockedAmount", "Amount blocked by regulatory authorities", False),
    ("AM09", "WrongAmount", "Amount received is not the amount agreed or expected", False),
    ("AM10", "InvalidControlSum", "Sum of instructed amounts differs from the control sum", False),
    ("ARDT", "AlreadyReturnedTransaction", "Transaction has already been returned", False),
    ("BE01", "InconsistentWithEndCustomer", "Holder's identity does not match the account", True),
    ("BE04", "MissingCreditorAddress", "Creditor address missing or incorrect", False),
    ("BE05", "UnrecognisedInitiatingParty", "Initiating party not recognised", False),
    ("BE06", "UnknownEndCustomer", "End customer unknown at the bank", True),
    ("BE07", "MissingDebtorAddress", "Debtor address missing or incorrect", False),
    ("CNOR", "CreditorBankIsNotRegistered", "Creditor bank not registered in the scheme", True),
    ("CURR", "IncorrectCurrency", "Currency of the payment is incorrect", False),
    ("CUST", "RequestedByCustomer", "Cancellation or return requested by the customer", False),
    ("DNOR", "DebtorBankIsNotRegistered", "Debtor bank not registered in the scheme", False),
    ("DT01", "InvalidDate", "Invalid date (e.g. wrong settlement date)", False),
    ("DU01", "DuplicateMessageID", "Message identification is not unique", False),
    ("DUPL", "DuplicatePayment", "Payment is a duplicate of another payment", False),
    ("ED05", "SettlementFailed", "Settlement of the transaction has failed", False),
    ("FF01", "InvalidFileFormat", "File or transaction format is invalid", False),
    ("FOCR", "FollowingCancellationRequest", "Return following a cancellation request", False),
    ("FR01", "Fraud", "Returned as a result of fraud", False),
    ("MD07", "EndCustomerDeceased", "End customer is deceased", True),
    ("MS02", "NotSpecifiedReasonCustomerGenerated", "Reason not specified, by customer", False),
    ("MS03", "NotSpecifiedReasonAgentGenerated", "Reason not specified, by the bank", False),
    ("NARR", "Narrative", "Reason given as free text", False),
    ("NOAS", "NoAnswerFromCustomer", "No response from the beneficiary", False),
    ("NOOR", "NoOriginalTransactionReceived", "Original transaction never received", False),
    ("RC01", "BankIdentifierIncorrect", "Bank identifier (BIC) is incorrect", True),
    ("RF01", "NotUniqueTransactionReference", "Transaction reference is not unique", False),
    ("RR01", "MissingDebtorAccountOrIdentification", "Regulatory: debtor account or id", False),
    ("RR02", "MissingDebtorNameOrAddress", "Regulatory: debtor name or address", False),
    ("RR03", "MissingCreditorNameOrAddress", "Regulatory: creditor name or address", False),
    ("RR04", "RegulatoryReason", "Regulatory reason", False),
    ("SL01", "SpecificServiceOfferedByDebtorAgent", "Specific service of the bank", False),
    ("TM01", "InvalidCutOffTime", "Received after the cut-off time", False),
    ("AB05", "TimeoutCreditorAgent", "Timeout at the creditor's bank", False),
    ("AB06", "TimeoutInstructedAgent", "Timeout at the instructed bank", False),
    ("UPAY", "UnduePayment", "Payment is not justified", False),
)

_NACHA: Final[tuple[tuple[str, str, str, bool], ...]] = (
    ("R01", "Insufficient Funds", "Available balance not sufficient", False),
    ("R02", "Account Closed", "Previously active account has been closed", True),
    ("R03", "No Account/Unable to Locate", "Account does not exist or is not open", True),
    ("R04", "Invalid Account Number", "Account number structure is not valid", True),
    ("R05", "Unauthorized Debit to Consumer Account", "CCD/CTX debit to a consumer", False),
    ("R06", "Returned per ODFI Request", "The ODFI asked the RDFI to return the entry", False),
    ("R07", "Authorization Revoked", "Receiver revoked the originator's authorization", True),
    ("R08", "Payment Stopped", "Receiver stopped payment of this entry", False),
    ("R09", "Uncollected Funds", "Balance exists but funds are not yet collected", False),
    ("R10", "Originator Not Known or Not Authorized", "Receiver does not know us", True),
    ("R11", "Entry Not in Accordance with Authorization", "Error in the entry's terms", False),
    ("R12", "Account Sold to Another DFI", "Branch or account moved to another bank", True),
    ("R13", "Invalid ACH Routing Number", "RDFI cannot receive ACH entries", True),
    ("R14", "Representative Payee Deceased", "Representative payee deceased or unable", True),
    ("R15", "Beneficiary or Account Holder Deceased", "Account holder is deceased", True),
    ("R16", "Account Frozen", "Funds unavailable: action by the RDFI or legal order", True),
    ("R17", "File Record Edit Criteria", "Fields rejected by the RDFI's processing", False),
    ("R18", "Improper Effective Entry Date", "Effective date is wrong", False),
    ("R19", "Amount Field Error", "Amount is zero or badly formatted", False),
    ("R20", "Non-Transaction Account", "Account does not allow ACH entries", True),
    ("R21", "Invalid Company Identification", "Company identification is not valid", False),
    ("R22", "Invalid Individual ID Number", "Receiver's identification is not valid", False),
    ("R23", "Credit Entry Refused by Receiver", "Receiver refused the credit", True),
    ("R24", "Duplicate Entry", "The RDFI received a duplicate entry", False),
    ("R25", "Addenda Error", "Addenda record is badly formatted", False),
    ("R26", "Mandatory Field Error", "A mandatory field is wrong", False),
    ("R27", "Trace Number Error", "Original trace number is not valid", False),
    ("R28", "Routing Number Check Digit Error", "Routing number check digit is wrong", True),
    ("R29", "Corporate Customer Advises Not Authorized", "Company receiver refuses us", True),
    ("R30", "RDFI Not Participant in Check Truncation", "RDFI not in the program", False),
    ("R31", "Permissible Return Entry", "Return agreed by the ODFI (CCD/CTX)", False),
    ("R32", "RDFI Non-Settlement", "The RDFI is not able to settle the entry", False),
    ("R33", "Return of XCK Entry", "RDFI returns an XCK entry", False),
    ("R34", "Limited Participation DFI", "RDFI's participation limited by a regulator", True),
    ("R35", "Return of Improper Debit Entry", "Debit not permitted for this SEC code", False),
    ("R37", "Source Document Presented for Payment", "The check was also presented", False),
    ("R38", "Stop Payment on Source Document", "Stop payment on the source document", False),
    ("R39", "Improper Source Document", "Source document is improper", False),
    ("R61", "Misrouted Return", "Dishonored: return sent to the wrong routing number", False),
    ("R62", "Return of Erroneous or Reversing Debit", "Dishonored: erroneous debit", False),
    ("R67", "Duplicate Return", "Dishonored: the ODFI got more than one return", False),
    ("R68", "Untimely Return", "Dishonored: return sent after the deadline", False),
    ("R69", "Field Error(s)", "Dishonored: fields of the return are wrong", False),
    ("R70", "Permissible Return Not Accepted", "Dishonored: return not requested", False),
    ("R71", "Misrouted Dishonored Return", "Contested: dishonor sent to wrong bank", False),
    ("R72", "Untimely Dishonored Return", "Contested: dishonor after the deadline", False),
    ("R73", "Timely Original Return", "Contested: the original return was timely", False),
    ("R74", "Corrected Return", "Contested: the return is corrected", False),
    ("R75", "Return Not a Duplicate", "Contested: the return was not a duplicate", False),
    ("R76", "No Errors Found", "Contested: the original return had no errors", False),
    ("R77", "Non-Acceptance of R62 Dishonored Return", "Contested: R62 not accepted", False),
    ("R80", "IAT Entry Coding Error", "IAT entry coded incorrectly", False),
    ("R81", "Non-Participant in IAT Program", "Gateway does not take IAT entries", False),
    ("R82", "Invalid Foreign Receiving DFI", "Foreign bank identification invalid", True),
    ("R83", "Foreign Receiving DFI Unable to Settle", "Foreign payment system failed", False),
    ("R84", "Entry Not Processed by Gateway", "Gateway declined the entry", False),
    ("R85", "Incorrectly Coded Outbound International", "Should have been an IAT", False),
)


def _rows(
    family: ReasonFamily, source: tuple[tuple[str, str, str, bool], ...]
) -> dict[str, ReasonCode]:
    return {row[0]: ReasonCode(*row, family=family) for row in source}


REASON_CODES: Final[dict[str, ReasonCode]] = {
    **_rows("iso20022", _ISO_20022),
    **_rows("nacha", _NACHA),
}
"""Every reason code Sellerpay knows, by code."""


def describe_reason(code: str) -> ReasonCode:
    """What `code` means; an unknown code is described as such (`known=False`), never refused."""
    normalized = code.strip().upper()
    known = REASON_CODES.get(normalized)
    if known is not None:
        return known
    shown = normalized[:REASON_CODE_LENGTH_MAX]
    return ReasonCode(
        code=shown,
        name="Unknown",
        description=f"Reason code {shown!r} is not in Sellerpay's table; ask the bank",
        disables_bank_account=False,
        family="unknown",
        known=False,
    )
