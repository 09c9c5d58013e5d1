package dsn

// Named SMTP reply codes (RFC 5321 section 4.2, RFC 7504, RFC 4954) and RFC
// 3463 enhanced status codes, so that classification reads as names rather
// than numbers. Enhanced codes are named without their class digit, the way
// they are registered ("1.1" stands for 4.1.1 and 5.1.1); the class says
// whether the failure is transient (4) or permanent (5).

// SMTP reply codes.
const (
	C211SystemStatus     = 211
	C214HelpMessage      = 214
	C220ServiceReady     = 220
	C221Closing          = 221
	C235AuthSuccess      = 235 // RFC 4954
	C250Completed        = 250
	C251UserNotLocal     = 251
	C252CannotVerify     = 252
	C334ContinueAuth     = 334 // RFC 4954
	C354StartData        = 354
	C421ServiceUnavail   = 421
	C432PasswdTransition = 432 // RFC 4954
	C450MailboxUnavail   = 450
	C451LocalErr         = 451
	C452StorageFull      = 452
	C454TempAuthFail     = 454 // RFC 4954
	C455ParamsNotAccom   = 455
	C500BadSyntax        = 500
	C501BadParamSyntax   = 501
	C502CmdNotImpl       = 502
	C503BadCmdSeq        = 503
	C504ParamNotImpl     = 504
	C521HostNoMail       = 521 // RFC 7504
	C530AuthRequired     = 530 // RFC 4954
	C534AuthMechWeak     = 534 // RFC 4954
	C535AuthBadCreds     = 535 // RFC 4954
	C538EncReqForAuth    = 538 // RFC 4954
	C550MailboxUnavail   = 550
	C551UserNotLocal     = 551
	C552MailboxFull      = 552
	C553BadMailbox       = 553
	C554TransactionFail  = 554
	C555UnknownParams    = 555
	C556DomainNoMail     = 556 // RFC 7504
)

// Enhanced status code classes (RFC 3463 section 3.1).
const (
	ClassSuccess   = 2
	ClassTransient = 4
	ClassPermanent = 5
)

// Enhanced status codes (RFC 3463 section 3, with the later registrations of
// the IANA "Enumerated Status Codes" registry: RFC 3886, 4468, 4954, 5248,
// 6531, 6710, 7293, 7372, 7505, 8617, 8689), without their class.
const (
	SeOther00 = "0.0"

	SeAddr1Other0                  = "1.0"
	SeAddr1UnknownDestMailbox1     = "1.1"
	SeAddr1UnknownSystem2          = "1.2"
	SeAddr1MailboxSyntax3          = "1.3"
	SeAddr1MailboxAmbiguous4       = "1.4"
	SeAddr1DestValid5              = "1.5"
	SeAddr1DestMailboxMoved6       = "1.6"
	SeAddr1SenderSyntax7           = "1.7"
	SeAddr1BadSenderSystemAddress8 = "1.8"
	SeAddr1RelayedNonCompliant9    = "1.9"
	SeAddr1NullMX10                = "1.10" // RFC 7505

	SeMailbox2Other0            = "2.0"
	SeMailbox2Disabled1         = "2.1"
	SeMailbox2Full2             = "2.2"
	SeMailbox2MsgLimitExceeded3 = "2.3"
	SeMailbox2ListExpansion4    = "2.4"

	SeSys3Other0            = "3.0"
	SeSys3StorageFull1      = "3.1"
	SeSys3NotAccepting2     = "3.2"
	SeSys3NotSupported3     = "3.3"
	SeSys3MsgLimitExceeded4 = "3.4"
	SeSys3Misconfigured5    = "3.5"

	SeNet4Other0           = "4.0"
	SeNet4NoAnswer1        = "4.1"
	SeNet4BadConn2         = "4.2"
	SeNet4Name3            = "4.3"
	SeNet4Routing4         = "4.4"
	SeNet4Congestion5      = "4.5"
	SeNet4Loop6            = "4.6"
	SeNet4DeliveryExpired7 = "4.7"

	SeProto5Other0           = "5.0"
	SeProto5BadCmdOrSeq1     = "5.1"
	SeProto5Syntax2          = "5.2"
	SeProto5TooManyRcpts3    = "5.3"
	SeProto5BadParams4       = "5.4"
	SeProto5BadProtoVersion5 = "5.5"
	SeProto5AuthExchTooLong6 = "5.6"

	SeMsg6Other0                 = "6.0"
	SeMsg6MediaUnsupported1      = "6.1"
	SeMsg6ConversionProhibited2  = "6.2"
	SeMsg6ConversionUnsupported3 = "6.3"
	SeMsg6ConversionLossy4       = "6.4"
	SeMsg6ConversionFailed5      = "6.5"
	SeMsg6ContentUnavailable6    = "6.6"
	SeMsg6NonASCIIAddrs7         = "6.7"
	SeMsg6NonASCIIDowngrade8     = "6.8"
	SeMsg6UTF8Downgrade9         = "6.9"

	SePol7Other0                 = "7.0"
	SePol7DeliveryUnauth1        = "7.1"
	SePol7ExpnProhibited2        = "7.2"
	SePol7ConvImpossible3        = "7.3"
	SePol7SecurityUnsupported4   = "7.4"
	SePol7CryptoFailure5         = "7.5"
	SePol7CryptoUnsupported6     = "7.6"
	SePol7MsgIntegrity7          = "7.7"
	SePol7AuthBadCreds8          = "7.8"
	SePol7AuthWeakMech9          = "7.9"
	SePol7EncNeeded10            = "7.10"
	SePol7EncReqForAuth11        = "7.11"
	SePol7PasswdTransitionReq12  = "7.12"
	SePol7AccountDisabled13      = "7.13"
	SePol7TrustReq14             = "7.14"
	SePol7PriorityTooLow15       = "7.15"
	SePol7MsgTooBigForPriority16 = "7.16"
	SePol7MailboxOwnerChanged17  = "7.17"
	SePol7DomainOwnerChanged18   = "7.18"
	SePol7RRVSCannotComplete19   = "7.19"
	SePol7NoDKIMPass20           = "7.20"
	SePol7NoDKIMAccept21         = "7.21"
	SePol7NoDKIMAuthorMatch22    = "7.22"
	SePol7SPFResultFail23        = "7.23"
	SePol7SPFError24             = "7.24"
	SePol7RevDNSFail25           = "7.25"
	SePol7MultiAuthFails26       = "7.26"
	SePol7SenderHasNullMX27      = "7.27"
	SePol7MailFlood28            = "7.28"
	SePol7ARCFail29              = "7.29"
	SePol7MissingRequireTLS30    = "7.30"
)

// statusInfo says what one enhanced status code means: its RFC title and the
// reason it stands for when the text does not say more.
type statusInfo struct {
	// Title is the code's registered name (RFC 3463 and the IANA registry).
	Title string
	// Reason is what the code means for bounce handling; "" when the code
	// alone says nothing useful (x.0.0, x.2.0, x.5.0).
	Reason Reason
	// Specific marks codes precise enough to beat a generic phrase in the
	// text (5.1.1 beats "rejected"); generic codes (5.7.1 "delivery not
	// authorized") only decide when the text says nothing.
	Specific bool
}

// statusTable maps an enhanced status code without its class to what it means.
// Entries keyed with the class ("5.4.1") override the classless entry for that
// class only. The one-line comments say why a code maps where it does.
var statusTable = map[string]statusInfo{
	SeOther00: {"Other undefined status", "", false},

	SeAddr1Other0:                  {"Other address status", ReasonUserUnknown, false}, // DESIGN: 5.1.0 is user_unknown, but SES wraps everything in it: generic
	SeAddr1UnknownDestMailbox1:     {"Bad destination mailbox address", ReasonUserUnknown, true},
	"4.1.1":                        {"Bad destination mailbox address", ReasonUserUnknown, false}, // Postfix answers 450 4.1.1 while address verification is still in progress: the text decides
	SeAddr1UnknownSystem2:          {"Bad destination system address", ReasonHostUnknown, true},
	SeAddr1MailboxSyntax3:          {"Bad destination mailbox address syntax", ReasonBadRecipientSyntax, true},
	SeAddr1MailboxAmbiguous4:       {"Destination mailbox address ambiguous", ReasonUserUnknown, false},
	SeAddr1DestValid5:              {"Destination address valid", ReasonDelivered, false},
	SeAddr1DestMailboxMoved6:       {"Destination mailbox has moved, no forwarding address", ReasonUserUnknown, true},
	SeAddr1SenderSyntax7:           {"Bad sender's mailbox address syntax", ReasonBadSenderAddress, true},
	SeAddr1BadSenderSystemAddress8: {"Bad sender's system address", ReasonBadSenderAddress, true},
	SeAddr1RelayedNonCompliant9:    {"Message relayed to non-compliant mailer", ReasonDelivered, false},
	SeAddr1NullMX10:                {"Recipient address has null MX", ReasonHostUnknown, true},

	SeMailbox2Other0:            {"Other or undefined mailbox status", "", false}, // used for quota, filters and blocks alike
	SeMailbox2Disabled1:         {"Mailbox disabled, not accepting messages", ReasonMailboxDisabled, true},
	"4.2.1":                     {"Mailbox disabled, not accepting messages", ReasonServerError, false}, // temporary: Gmail uses it for rate limits, La Poste for blocks
	SeMailbox2Full2:             {"Mailbox full", ReasonMailboxFull, true},
	SeMailbox2MsgLimitExceeded3: {"Message length exceeds administrative limit", ReasonMessageTooLarge, true},
	SeMailbox2ListExpansion4:    {"Mailing list expansion problem", ReasonServerError, false},

	SeSys3Other0:            {"Other or undefined mail system status", ReasonServerError, false},
	SeSys3StorageFull1:      {"Mail system full", ReasonServerError, true}, // the server's disk, not the recipient's quota
	SeSys3NotAccepting2:     {"System not accepting network messages", ReasonServerError, false},
	SeSys3NotSupported3:     {"System not capable of selected features", ReasonServerError, false},
	SeSys3MsgLimitExceeded4: {"Message too big for system", ReasonMessageTooLarge, true},
	SeSys3Misconfigured5:    {"System incorrectly configured", ReasonServerError, true},

	SeNet4Other0:           {"Other or undefined network or routing status", ReasonNetworkError, false},
	SeNet4NoAnswer1:        {"No answer from host", ReasonNetworkError, true},
	"5.4.1":                {"No answer from host", ReasonNetworkError, false}, // Microsoft answers unknown recipients with 550 5.4.1: let the text decide
	SeNet4BadConn2:         {"Bad connection", ReasonNetworkError, true},
	SeNet4Name3:            {"Directory server failure", ReasonServerError, true},
	SeNet4Routing4:         {"Unable to route", ReasonHostUnknown, true},
	"4.4.4":                {"Unable to route", ReasonNetworkError, true}, // a transient routing failure is no proof the domain is gone
	SeNet4Congestion5:      {"Mail system congestion", ReasonServerError, true},
	SeNet4Loop6:            {"Routing loop detected", ReasonNetworkError, true},
	SeNet4DeliveryExpired7: {"Delivery time expired", ReasonExpired, true},

	SeProto5Other0:           {"Other or undefined protocol status", "", false}, // Outlook sends 550 5.5.0 for unknown users and for blocks
	SeProto5BadCmdOrSeq1:     {"Invalid command", ReasonServerError, false},
	SeProto5Syntax2:          {"Syntax error", ReasonServerError, false},
	SeProto5TooManyRcpts3:    {"Too many recipients", ReasonRateLimited, true},
	SeProto5BadParams4:       {"Invalid command arguments", ReasonServerError, false},
	SeProto5BadProtoVersion5: {"Wrong protocol version", ReasonServerError, false},
	SeProto5AuthExchTooLong6: {"Authentication exchange line is too long", ReasonServerError, false},

	SeMsg6Other0:                 {"Other or undefined media error", ReasonPolicyRejected, false},
	SeMsg6MediaUnsupported1:      {"Media not supported", ReasonPolicyRejected, false},
	SeMsg6ConversionProhibited2:  {"Conversion required and prohibited", ReasonPolicyRejected, false},
	SeMsg6ConversionUnsupported3: {"Conversion required but not supported", ReasonPolicyRejected, false},
	SeMsg6ConversionLossy4:       {"Conversion with loss performed", ReasonPolicyRejected, false},
	SeMsg6ConversionFailed5:      {"Conversion failed", ReasonPolicyRejected, false},
	SeMsg6ContentUnavailable6:    {"Message content not available", ReasonServerError, false},
	SeMsg6NonASCIIAddrs7:         {"Non-ASCII addresses not permitted for that sender/recipient", ReasonPolicyRejected, false},
	SeMsg6NonASCIIDowngrade8:     {"UTF-8 string reply is required, but not permitted by the SMTP client", ReasonPolicyRejected, false},
	SeMsg6UTF8Downgrade9:         {"UTF-8 header message cannot be transferred to one or more recipients", ReasonPolicyRejected, false},

	SePol7Other0:                 {"Other or undefined security status", ReasonPolicyRejected, false},
	SePol7DeliveryUnauth1:        {"Delivery not authorized, message refused", ReasonPolicyRejected, false}, // blocklist, spam, relay or policy: the text decides
	SePol7ExpnProhibited2:        {"Mailing list expansion prohibited", ReasonPolicyRejected, true},
	SePol7ConvImpossible3:        {"Security conversion required but not possible", ReasonPolicyRejected, true},
	SePol7SecurityUnsupported4:   {"Security features not supported", ReasonPolicyRejected, true},
	SePol7CryptoFailure5:         {"Cryptographic failure", ReasonPolicyRejected, false},
	SePol7CryptoUnsupported6:     {"Cryptographic algorithm not supported", ReasonPolicyRejected, false},
	SePol7MsgIntegrity7:          {"Message integrity failure", ReasonPolicyRejected, false},
	SePol7AuthBadCreds8:          {"Authentication credentials invalid", ReasonAuthFailure, true},
	SePol7AuthWeakMech9:          {"Authentication mechanism is too weak", ReasonPolicyRejected, false}, // Yahoo: 554 5.7.9 "not accepted for policy reasons"
	SePol7EncNeeded10:            {"Encryption needed", ReasonPolicyRejected, true},
	SePol7EncReqForAuth11:        {"Encryption required for requested authentication mechanism", ReasonPolicyRejected, true},
	SePol7PasswdTransitionReq12:  {"A password transition is needed", ReasonAuthFailure, true},
	SePol7AccountDisabled13:      {"User account disabled", ReasonMailboxDisabled, true},
	SePol7TrustReq14:             {"Trust relationship required", ReasonPolicyRejected, true},
	SePol7PriorityTooLow15:       {"Priority level is too low", ReasonPolicyRejected, true},
	SePol7MsgTooBigForPriority16: {"Message is too big for the specified priority", ReasonMessageTooLarge, true},
	SePol7MailboxOwnerChanged17:  {"Mailbox owner has changed", ReasonUserUnknown, true},
	SePol7DomainOwnerChanged18:   {"Domain owner has changed", ReasonHostUnknown, true},
	SePol7RRVSCannotComplete19:   {"RRVS test cannot be completed", ReasonPolicyRejected, false},
	SePol7NoDKIMPass20:           {"No passing DKIM signature found", ReasonAuthFailure, true},
	SePol7NoDKIMAccept21:         {"No acceptable DKIM signature found", ReasonAuthFailure, true},
	SePol7NoDKIMAuthorMatch22:    {"No valid author-matched DKIM signature found", ReasonAuthFailure, true},
	SePol7SPFResultFail23:        {"SPF validation failed", ReasonAuthFailure, true},
	SePol7SPFError24:             {"SPF validation error", ReasonAuthFailure, true},
	SePol7RevDNSFail25:           {"Reverse DNS validation failed", ReasonAuthFailure, true},
	SePol7MultiAuthFails26:       {"Multiple authentication checks failed", ReasonAuthFailure, true},
	SePol7SenderHasNullMX27:      {"Sender address has null MX", ReasonAuthFailure, true}, // DESIGN lists 5.7.27 under auth_failure
	SePol7MailFlood28:            {"Mail flood detected", ReasonRateLimited, true},        // Gmail's 4.7.28/5.7.28 rate limits
	SePol7ARCFail29:              {"ARC validation failure", ReasonAuthFailure, true},
	SePol7MissingRequireTLS30:    {"REQUIRETLS support required", ReasonPolicyRejected, true},
}

// subjectTitles names the subject digit of an enhanced status (RFC 3463
// section 3), for codes the table does not list (vendor codes such as
// 5.7.509).
var subjectTitles = map[byte]string{
	'0': "Other or undefined status",
	'1': "Addressing status",
	'2': "Mailbox status",
	'3': "Mail system status",
	'4': "Network and routing status",
	'5': "Mail delivery protocol status",
	'6': "Message content or media status",
	'7': "Security or policy status",
}

// replyInfo says what one SMTP reply code means.
type replyInfo struct {
	// Title is the RFC 5321 (or RFC 4954, 7504) text of the reply.
	Title string
	// Reason is the most likely reason when neither an enhanced status nor
	// the text says more; "" when the code alone says nothing useful.
	Reason Reason
}

// replyTable maps SMTP reply codes to their meaning. Fallback reasons are
// deliberately cautious: 550 is used for unknown users and for every kind of
// block alike, so it alone suppresses no one.
var replyTable = map[int]replyInfo{
	C211SystemStatus:     {"System status, or system help reply", ReasonDelivered},
	C214HelpMessage:      {"Help message", ReasonDelivered},
	C220ServiceReady:     {"Service ready", ReasonDelivered},
	C221Closing:          {"Service closing transmission channel", ReasonDelivered},
	C235AuthSuccess:      {"Authentication succeeded", ReasonDelivered},
	C250Completed:        {"Requested mail action okay, completed", ReasonDelivered},
	C251UserNotLocal:     {"User not local; will forward", ReasonDelivered},
	C252CannotVerify:     {"Cannot verify user, but will accept message and attempt delivery", ReasonDelivered},
	C334ContinueAuth:     {"Authentication challenge", ""},
	C354StartData:        {"Start mail input", ""},
	C421ServiceUnavail:   {"Service not available, closing transmission channel", ReasonServerError},
	C432PasswdTransition: {"A password transition is needed", ReasonAuthFailure},
	C450MailboxUnavail:   {"Requested mail action not taken: mailbox unavailable (busy or temporarily blocked)", ReasonServerError},
	C451LocalErr:         {"Requested action aborted: local error in processing", ReasonServerError},
	C452StorageFull:      {"Requested action not taken: insufficient system storage", ReasonServerError},
	C454TempAuthFail:     {"Temporary authentication failure", ReasonServerError},
	C455ParamsNotAccom:   {"Server unable to accommodate parameters", ReasonServerError},
	C500BadSyntax:        {"Syntax error, command unrecognized", ReasonServerError},
	C501BadParamSyntax:   {"Syntax error in parameters or arguments", ReasonServerError},
	C502CmdNotImpl:       {"Command not implemented", ReasonServerError},
	C503BadCmdSeq:        {"Bad sequence of commands", ReasonServerError},
	C504ParamNotImpl:     {"Command parameter not implemented", ReasonServerError},
	C521HostNoMail:       {"Host does not accept mail", ReasonHostUnknown},
	C530AuthRequired:     {"Authentication required", ReasonAuthFailure},
	C534AuthMechWeak:     {"Authentication mechanism is too weak", ReasonAuthFailure},
	C535AuthBadCreds:     {"Authentication credentials invalid", ReasonAuthFailure},
	C538EncReqForAuth:    {"Encryption required for requested authentication mechanism", ReasonPolicyRejected},
	C550MailboxUnavail:   {"Requested action not taken: mailbox unavailable", ""},
	C551UserNotLocal:     {"User not local; please try the forward-path", ReasonUserUnknown},
	C552MailboxFull:      {"Requested mail action aborted: exceeded storage allocation", ReasonMailboxFull},
	C553BadMailbox:       {"Requested action not taken: mailbox name not allowed", ""}, // for bad recipients and bad senders alike
	C554TransactionFail:  {"Transaction failed", ReasonPolicyRejected},
	C555UnknownParams:    {"MAIL FROM/RCPT TO parameters not recognized or not implemented", ReasonServerError},
	C556DomainNoMail:     {"Domain does not accept mail", ReasonHostUnknown},
}

// lookupStatus returns what an enhanced status code such as "5.1.1" means.
// ok is false when the code is not registered.
func lookupStatus(code string) (statusInfo, bool) {
	if si, ok := statusTable[code]; ok {
		return si, true
	}
	if len(code) > 2 {
		si, ok := statusTable[code[2:]]
		return si, ok
	}
	return statusInfo{}, false
}

// statusTitle describes an enhanced status code: its registered title, else
// the title of its subject.
func statusTitle(code string) string {
	if si, ok := lookupStatus(code); ok {
		return si.Title
	}
	if len(code) >= 3 {
		if t, ok := subjectTitles[code[2]]; ok {
			return t + " (code not registered; vendor-specific detail)"
		}
	}
	return ""
}
