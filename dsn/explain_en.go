package dsn

// reasonText is the explanation of one reason in one language.
type reasonText struct {
	title, meaning, why, fix string
}

// explanations holds the texts per language and reason. English and German
// are both first-class: every reason has both (TestExplainAllReasons).
var explanations = map[string]map[Reason]reasonText{
	"en": textsEN,
	"de": textsDE,
}

var textsEN = map[Reason]reasonText{
	ReasonUserUnknown: {
		title:   "Unknown recipient",
		meaning: "The receiving server says the mailbox does not exist: no such user at that domain (typically 550 5.1.1, or 5.1.6 when it moved without a forwarding address).",
		why:     "The address was mistyped at signup, the person left the company, or the provider deleted the account. Addresses bought, scraped or kept for years collect these.",
		fix: "1. Nothing to fix on the sending side: the address is suppressed and must not be mailed again.\n" +
			"2. Repeated unknown users from one source point to bad data: check the signup form (typos such as gmial.com) and confirm new addresses by double opt-in.\n" +
			"3. If the person is a customer, ask for a new address through another channel.",
	},
	ReasonMailboxDisabled: {
		title:   "Mailbox disabled",
		meaning: "The mailbox exists but does not accept mail: it was disabled, suspended, locked or marked inactive by its provider (typically 5.2.1).",
		why:     "Free mail providers deactivate accounts nobody has logged into for months; companies lock the mailboxes of people who left; some accounts are suspended for abuse.",
		fix: "1. The address is suppressed: an abandoned mailbox will not come back, and mail to it hurts your reputation with that provider.\n" +
			"2. Large numbers of disabled mailboxes mean the list is old: remove subscribers who have not opened or clicked for a long time.\n" +
			"3. Lift the suppression by hand only if the recipient confirms the mailbox is active again.",
	},
	ReasonHostUnknown: {
		title:   "Recipient domain does not exist",
		meaning: "The domain after the @ does not exist or accepts no mail: it has no MX or address record, publishes a null MX (5.1.10, RFC 7505) or cannot be routed (5.4.4, 5.1.2).",
		why:     "Typos in the domain (gmal.com, yaho.de), company domains that were given up, and domains that expired.",
		fix: "1. The address is suppressed.\n" +
			"2. Check the domain at signup (does it have MX records?) and suggest corrections for common typos.\n" +
			"3. If many addresses of one known-good domain fail this way, check your own resolver first: a broken local DNS makes every domain look unknown.",
	},
	ReasonBadRecipientSyntax: {
		title:   "Invalid recipient address",
		meaning: "The recipient address is not a valid RFC 5321 address, so the server refuses it before looking it up (5.1.3, or 501/553 on RCPT TO).",
		why:     "Spaces, double dots, a missing domain, commas instead of dots or characters the server does not accept, usually from a form or an import without validation.",
		fix: "1. The address is suppressed.\n" +
			"2. Validate addresses where they enter your system (form, API, CSV import) and reject what is not an address.\n" +
			"3. If an internationalised address (non-ASCII local part) fails, the receiving server lacks SMTPUTF8: that address cannot be reached there.",
	},
	ReasonMailboxFull: {
		title:   "Mailbox full",
		meaning: "The recipient's mailbox is over its storage quota and takes no new mail for now (552 5.2.2 or 452 4.2.2).",
		why:     "The owner does not clean up, receives large attachments, or no longer uses the mailbox at all: a mailbox that stays full for weeks is usually abandoned.",
		fix: "1. Nothing to fix on your side: this is a soft bounce, counted, and the address is suppressed only after repeated full-mailbox bounces (default 3 in 14 days, for 30 days).\n" +
			"2. Do not resend at once; the next regular mailing is the retry.\n" +
			"3. Avoid large attachments: link to files instead.",
	},
	ReasonComplaint: {
		title:   "Spam complaint",
		meaning: "The recipient marked your message as spam, and the mailbox provider forwarded that through its feedback loop (an ARF report, RFC 5965).",
		why:     "The recipient did not expect the mail, does not remember subscribing, gets too much of it, or could not find a quick way to unsubscribe.",
		fix: "1. The address is suppressed at once and must stay suppressed: mailing complainers is the fastest way to get blocked.\n" +
			"2. Keep the complaint rate below 0.1 %; Gmail and Yahoo require bulk senders to stay below 0.3 %.\n" +
			"3. Offer one-click unsubscribe (List-Unsubscribe and List-Unsubscribe-Post, RFC 8058), send only to confirmed subscribers, and say in the first lines who is writing and why.",
	},
	ReasonAuthFailure: {
		title:   "Sender authentication failed (SPF, DKIM, DMARC)",
		meaning: "The receiving server could not verify that the sending server may send for your domain, and your domain's DMARC policy or the receiver's rules reject such mail (5.7.26, 5.7.23 SPF, 5.7.25 reverse DNS, Microsoft 5.7.509).",
		why:     "The sending IP is missing from the SPF record, or SPF breaks the 10-lookup limit; messages are not DKIM-signed, or signed with a domain that does not align with the From domain; DMARC is p=reject or p=quarantine while neither SPF nor DKIM align; the sending IP has no matching reverse DNS (PTR) name.",
		fix: "1. Send a test message to a Gmail address and read its Authentication-Results header: spf, dkim and dmarc must all say pass.\n" +
			"2. SPF: the TXT record of the envelope sender's domain must include every server or service that sends for you (v=spf1 include:... -all), within 10 DNS lookups.\n" +
			"3. DKIM: sign with d= your From domain (or a subdomain of it, for relaxed alignment) and publish the selector's public key in DNS.\n" +
			"4. DMARC: publish _dmarc.<domain> with a rua= address, read the aggregate reports, and tighten p= only once all your sources pass.\n" +
			"5. Give every sending IP a PTR record whose name resolves back to the IP. The recipient is fine: it is not suppressed.",
	},
	ReasonBlocklisted: {
		title:   "Sender blocklisted or poor reputation",
		meaning: "The receiving server refused the mail because your sending IP or domain is on a blocklist (Spamhaus, Barracuda, SpamCop ...) or has a poor reputation with that provider.",
		why:     "Spam traps or many unknown users on your list, a complaint spike, a compromised account or web form sending spam through your servers, a newly used IP without history, or a shared IP that a neighbour spoiled.",
		fix: "1. Look up the IP and domain named in the message (the text usually names the list) on the list's own site or a multi-list checker.\n" +
			"2. Find and stop the cause first: compromised accounts, unconfirmed signups, old unengaged segments, purchased addresses.\n" +
			"3. Then request delisting from the list operator; for Microsoft use the sender support form and SNDS, for Gmail watch Postmaster Tools.\n" +
			"4. Warm up new IPs slowly. Recipients are not suppressed: the problem is on the sending side.",
	},
	ReasonSpamContent: {
		title:   "Rejected as spam",
		meaning: "The receiving server's content filter judged this message to be spam (550/554 5.7.1 \"spam\", \"content rejected\").",
		why:     "Links to domains on URL blocklists or through URL shorteners, misleading subject lines, image-only mails, broken HTML, missing plain-text part, or a From domain that does not match the links and the signature.",
		fix: "1. Run the message through a spam checker (SpamAssassin, a mail tester) and fix what it scores.\n" +
			"2. Check every linked domain against URL blocklists; avoid shorteners; link your own domain.\n" +
			"3. Send a balanced HTML and text version, authenticate the mail (SPF, DKIM, DMARC) and include a working unsubscribe link.\n" +
			"4. The recipient is not suppressed.",
	},
	ReasonPolicyRejected: {
		title:   "Refused by the receiver's policy",
		meaning: "A local rule at the receiving side refused the message: not a blocklist and not a verdict on the recipient, but a policy (5.7.0, 5.7.1, 451 local policy, TLS required, header rules).",
		why:     "The receiver requires TLS or authentication, forbids certain senders, countries or attachment types, rejects messages that break RFC 5322 (several From addresses, missing Date or Message-ID), or only accepts mail from known partners.",
		fix: "1. Read the server's text in the bounce: it usually names the rule.\n" +
			"2. Make sure your mail is RFC-conformant: one From address, Date and Message-ID headers, valid MIME, TLS offered on outgoing connections.\n" +
			"3. If the text does not explain it, contact postmaster@ of the recipient domain with the full bounce.\n" +
			"4. The recipient is not suppressed.",
	},
	ReasonBadSenderAddress: {
		title:   "Sender address rejected",
		meaning: "The receiving server refused your sender address: the envelope sender (Return-Path) or the From address is malformed, or its domain does not exist or does not accept mail (553 5.1.7/5.1.8, \"sender address rejected\").",
		why:     "A From or return-path domain without MX or A record, a typo in the sending configuration, a sub-domain used only for sending that was never published in DNS, or a bounce mailbox that refuses the receiver's sender-verification callout.",
		fix: "1. Check that the envelope sender's domain and the From domain both resolve and have MX records.\n" +
			"2. Make sure the return-path mailbox (the one bounced reads) accepts mail: receivers test it before accepting yours.\n" +
			"3. Use a correctly formatted From header: one address, no stray spaces or quotes.\n" +
			"4. The recipient is not suppressed.",
	},
	ReasonRelayDenied: {
		title:   "Relaying denied",
		meaning: "The server you handed the message to is not responsible for the recipient's domain and will not pass it on for you (\"relay access denied\", 554 5.7.1).",
		why:     "Your mail went to the wrong server: a smart host that requires SMTP authentication, a stale MX record or DNS cache, or a recipient domain whose MX still points to a server that no longer hosts it. With Amazon SES, an unverified sender identity is refused the same way.",
		fix: "1. If you send through a smart host or provider, authenticate (SMTP AUTH) or get your IP allowed, and verify your sender identity there.\n" +
			"2. Look up the recipient domain's MX records: if they point to a server that does not know the domain, the recipient's domain is misconfigured.\n" +
			"3. The recipient is not suppressed.",
	},
	ReasonMessageTooLarge: {
		title:   "Message too large",
		meaning: "The message exceeds the size the receiving server accepts (552 5.3.4, 5.2.3).",
		why:     "Attachments: base64 encoding adds a third to their size, and many servers stop at 10 to 25 MB. Long header lines or too many headers are refused the same way.",
		fix: "1. Send links to files instead of attachments, and compress images.\n" +
			"2. Check the SIZE limit the receiving server announces in its EHLO response.\n" +
			"3. The recipient is not suppressed.",
	},
	ReasonVirus: {
		title:   "Virus or malware detected",
		meaning: "The receiving server's scanner found a virus, malware or a forbidden attachment type in the message.",
		why:     "An infected attachment, a document with macros, an executable or password-protected archive, or a link to a known malicious site; sometimes a compromised system sending in your name.",
		fix: "1. Scan the message and its attachments; do not send executables, macro documents or encrypted archives.\n" +
			"2. If you did not send this message, check your systems and accounts for compromise.\n" +
			"3. The recipient is not suppressed.",
	},
	ReasonRateLimited: {
		title:   "Rate limited",
		meaning: "The receiver accepts no more mail from you for now: too many messages, recipients or connections in too short a time (421 4.7.0, 4.7.28, 452 4.5.3).",
		why:     "Bursts to one provider, a new IP without sending history, too many recipients per message or parallel connections, or a reputation that earns you a lower limit.",
		fix: "1. Lower the sending rate and concurrency per destination domain (in Postfix: default_destination_rate_delay and ..._destination_concurrency_limit).\n" +
			"2. Spread large campaigns over hours; warm up new IPs.\n" +
			"3. Keep retrying deferred mail; do not resend it as new messages. The recipient is not suppressed.",
	},
	ReasonGreylisted: {
		title:   "Greylisted",
		meaning: "The receiving server deferred the first delivery attempt on purpose and will accept the message when it is retried (451 4.7.1, 450 4.2.0).",
		why:     "Greylisting rejects unknown sender/IP/recipient combinations once, because spam software rarely retries while real mail servers do.",
		fix: "1. Usually nothing: your server retries and the message is delivered minutes later.\n" +
			"2. Make sure retries are on and come from the same IP or pool (a retry from another IP starts the wait again).\n" +
			"3. If it ends in expiry, the retry interval or queue lifetime is too short.",
	},
	ReasonServerError: {
		title:   "Receiving server error",
		meaning: "The receiving server failed on its side: an internal error, a full disk, a broken configuration, or it is overloaded or in maintenance (4.3.x, 5.3.x, 421 service not available).",
		why:     "Temporary trouble at the recipient's provider; occasionally a lasting misconfiguration.",
		fix: "1. Nothing to do at first: it is counted as a soft bounce and delivery is retried.\n" +
			"2. If one domain keeps failing for days, contact its postmaster with the full bounce.",
	},
	ReasonNetworkError: {
		title:   "Network or DNS error",
		meaning: "Your server could not reach the receiving server: connection refused or timed out, no route, a TLS handshake failure, a DNS lookup that failed, or a routing loop (4.4.1, 4.4.2).",
		why:     "The recipient's mail servers are down or unreachable, their DNS is broken, or your own side blocks outgoing port 25 (common at cloud providers), has no working IPv6 route, or runs a failing resolver.",
		fix: "1. If one domain fails, check its MX records and whether they answer on port 25.\n" +
			"2. If many domains fail, check your own network: outgoing port 25, firewall, IPv6 connectivity and reverse DNS, the local resolver.\n" +
			"3. It is counted as a soft bounce; delivery is retried.",
	},
	ReasonExpired: {
		title:   "Delivery expired",
		meaning: "Your server kept retrying until the message's queue lifetime ran out and then gave up (4.4.7, 5.4.7, or a failed report with the last temporary error).",
		why:     "The receiving side deferred or was unreachable for days: greylisting that never let it through, a server that was down, throttling, or a domain that quietly stopped receiving mail.",
		fix: "1. Look at the last error in the bounce: it says why the retries failed.\n" +
			"2. It is counted as a soft bounce; repeated expiries to one address lead to its suppression.\n" +
			"3. If messages expire to many domains, check your queue lifetime (Postfix maximal_queue_lifetime, Exim retry rules) and your outgoing network.",
	},
	ReasonDelayed: {
		title:   "Delivery delayed (warning)",
		meaning: "A warning, not a failure: your server could not deliver yet and keeps trying (a DSN with Action: delayed).",
		why:     "The receiving server defers (greylisting, throttling, temporary errors) or cannot be reached at the moment.",
		fix: "1. Nothing to do now: a final report follows if delivery fails for good.\n" +
			"2. Many delay warnings for one provider point to throttling or reputation trouble there.",
	},
	ReasonAutoReply: {
		title:   "Automatic reply",
		meaning: "An automatic answer such as an out-of-office or vacation notice (RFC 3834): your message was delivered.",
		why:     "The recipient set up an auto-responder.",
		fix:     "1. Nothing to do: the address is fine. Never treat auto-replies as bounces, and never answer them automatically.",
	},
	ReasonDelivered: {
		title:   "Delivered",
		meaning: "A success report: the message was delivered, relayed to a system that sends no reports, or expanded to a list (Action delivered, relayed or expanded).",
		why:     "Delivery status notifications were requested for success (NOTIFY=SUCCESS), or a relay reports handing the message on.",
		fix:     "1. Nothing to do.",
	},
	ReasonUnknown: {
		title:   "Unknown",
		meaning: "The message could not be classified: no recognisable status code or text, or no recipient could be found in it.",
		why:     "An unusual bounce format, a message in a language or wording the phrase tables do not know yet, or mail that is not a bounce at all.",
		fix: "1. Look at the original message (kept in the Unrecognized folder).\n" +
			"2. If it is a real bounce, add its wording to the phrase tables so the next one is classified. Nobody is suppressed for an unknown reason.",
	},
}
