package dsn

// English code guides (see explain_codes.go). The facts follow the article
// the project started from (../shared/seed) and what bounced knows beyond it;
// the words are our own.
var guidesEN = map[string]codeGuide{
	"5.7.26": {
		meaning: "The receiving server tried to confirm that your message really comes from your domain (SPF, DKIM and DMARC) and no check vouched for it, so it refused the message. Gmail answers 550 5.7.26 when a message fails DMARC under a p=reject or p=quarantine policy, or when a bulk sender is not authenticated at all.",
		why: "The domain's SPF record is missing, names the wrong servers (the sending IP or service is not listed), needs more than 10 DNS lookups, or exists twice.\n" +
			"The message carries no DKIM signature, or the public key is missing from DNS or belongs to an older key after a rotation.\n" +
			"No DMARC record ties SPF and DKIM to the From domain, or neither of them passes for a domain that matches the From domain (alignment): a provider that signs with its own domain does not help.\n" +
			"Since February 2024 Gmail and Yahoo refuse bulk mail (more than 5,000 messages a day to Gmail) without SPF, DKIM and a DMARC record.",
		fix: "1. Send a test message to a mailbox you control at Gmail or Outlook and read its Authentication-Results header: spf, dkim and dmarc must each say pass.\n" +
			"2. SPF: publish exactly one TXT record on the envelope sender's domain naming every server and service that sends for you, for example v=spf1 ip4:192.0.2.10 include:_spf.provider.example -all; check it with dig +short TXT <domain>.\n" +
			"3. DKIM: let your mail server or provider sign with a key of your own domain, and publish the selector's public key at <selector>._domainkey.<domain>.\n" +
			"4. DMARC: publish a TXT record at _dmarc.<domain>, starting with v=DMARC1; p=none; rua=mailto:<address>; read the aggregate reports and move to p=quarantine or p=reject only when every source of your mail passes.\n" +
			"5. Send again once the checks pass. bounced records a sender-side incident (verdict alert) and suppresses nobody: the recipients are fine.",
		readings: []reading{
			{ReasonAuthFailure, "always: the status itself names failed authentication (RFC 7372)"},
		},
	},
	"550": {
		meaning: "The receiving server refuses the action for good: most often the mailbox is not there or not available. But servers also use 550 for blocks against the sender, so the enhanced status code and the server's words decide whose problem it is.",
		why: "The recipient's address is mistyped, was deleted, or never existed.\n" +
			"The mailbox was disabled or deactivated by its provider, for example after a long time without a login.\n" +
			"The recipient's domain no longer exists or no longer receives mail.\n" +
			"Beyond the mailbox: many servers (Microsoft among them) answer 550 5.7.x to a sender they block for reputation, content or missing authentication.",
		fix: "1. Read the enhanced status code and the words first: 5.1.x and 5.2.1 are about the address, 5.7.x is about your sending (see the readings).\n" +
			"2. For an address problem, check it for typos (gmial.com, hotmal.de) and correct it only with the recipient's confirmation; a guessed correction mails a stranger.\n" +
			"3. If you know the recipient, ask through another channel (phone, customer account) whether the address is still in use.\n" +
			"4. Keep the list clean: bounced suppresses unknown and disabled addresses by itself, so they are not mailed again. Confirm new addresses by double opt-in rather than buying verification after the fact.\n" +
			"5. For a 5.7.x answer the recipient is not the problem: follow the fix of that reading (bounced explain blocklisted, auth_failure, spam_content).",
		readings: []reading{
			{ReasonUserUnknown, "5.1.1, 5.1.0 or 5.1.6, or words such as \"user unknown\", \"no such user\", \"does not exist\""},
			{ReasonMailboxDisabled, "5.2.1, or \"disabled\", \"inactive\", \"suspended\", \"deactivated\""},
			{ReasonHostUnknown, "5.1.2 or 5.1.10 (null MX), or \"domain not found\", \"no MX\""},
			{ReasonBlocklisted, "5.7.x with a list's name (Spamhaus, Barracuda, Microsoft's S3140) or \"reputation\""},
			{ReasonSpamContent, "5.7.x with \"spam\" or \"content\""},
			{ReasonPolicyRejected, "5.7.x with any other local rule"},
			{ReasonUnknown, "a bare 550 with no status and no words: bounced keeps reason unknown and suppresses nobody for it"},
		},
	},
	"554": {
		meaning: "The transaction failed: the receiving server refused your message as a whole, usually because of who sent it rather than to whom. The most frequent cause is a blocklist; then content that looks like spam; then missing authentication.",
		why: "Your sending IP or your domain is on a blocklist. Lists add IPs that hit spam traps, draw complaints or send from a compromised account or web form; a new IP without history or a shared IP a neighbour spoiled can be listed too.\n" +
			"The content looks like spam to the receiver's filter: links to listed domains or through URL shorteners, a shouting subject, image-only mail, no text part.\n" +
			"The receiver does not trust mail from your domain because SPF, DKIM or DMARC is missing or fails.\n" +
			"Less often: relaying refused (\"relay access denied\"), or another local rule.",
		fix: "1. Look up the lists. The server's words usually name the one that refused you; check your sending IP and domain on that list's own site, or on many at once with a multi-list checker (MXToolbox Blacklist Check, multirbl.valli.org). From a shell: dig +short 10.2.0.192.zen.spamhaus.org checks the IP 192.0.2.10 (octets reversed); an answer 127.0.0.x means listed. Ask your own resolver: Spamhaus refuses queries through public resolvers.\n" +
			"2. Remove the cause before asking for removal, or the listing returns: stop unconfirmed signups, drop old unengaged addresses (where spam traps hide), close compromised accounts and forms.\n" +
			"3. Request delisting where the list takes requests: Spamhaus at check.spamhaus.org; Barracuda at barracudacentral.org (removal request); Microsoft (Outlook.com, Hotmail, errors S3140/S3150) at sender.office.com. SpamCop listings expire by themselves about 24 hours after the last report, UCEPROTECT level 1 after 7 days without new hits (paying for express removal is not needed). Gmail keeps no list to be removed from: watch Postmaster Tools.\n" +
			"4. Check the content: run the message through a spam tester, link to your own domain, avoid shorteners, send an HTML and a text part.\n" +
			"5. Authenticate the domain with SPF, DKIM and DMARC (bounced explain 5.7.26).\n" +
			"6. Watch your reputation so the next problem shows early: Google Postmaster Tools, Microsoft SNDS, a complaint rate below 0.1 %, and bounced's sender_incidents view and bounced report, which count such refusals per receiving server. Recipients are not suppressed.",
		readings: []reading{
			{ReasonBlocklisted, "the words name a list (Spamhaus, Barracuda, SpamCop, UCEPROTECT, Microsoft's S3140) or say \"blocked\", \"listed\", \"reputation\""},
			{ReasonSpamContent, "\"spam\", \"content rejected\", \"looks like spam\""},
			{ReasonAuthFailure, "5.7.23 to 5.7.26, or \"SPF\", \"DKIM\", \"DMARC\", \"unauthenticated\""},
			{ReasonRelayDenied, "\"relay access denied\", \"relaying denied\""},
			{ReasonPolicyRejected, "any other local rule, and a bare 554 without words (what bounced records then)"},
		},
	},
	"421": {
		meaning: "A temporary refusal: the receiving server will not talk to you now and closes the connection. It is a delay, not a rejection: your server keeps the message and tries again. A 421 is never permanent.",
		why: "The server is overloaded, restarting or in maintenance.\n" +
			"You opened too many connections or sent too many messages in a short time, so the receiver throttles you; big providers lower the limit for senders with a weak reputation (Gmail 421 4.7.28, Yahoo [TSS04]).\n" +
			"Some servers greylist with 421 instead of 450 or 451.",
		fix: "1. Wait: your mail server retries on its own (Postfix: first after about 5 minutes, backing off to about an hour, and gives up after maximal_queue_lifetime, 5 days by default).\n" +
			"2. Make sure retrying is on: an application that speaks SMTP itself must queue and retry; look at the queue (postqueue -p, mailq).\n" +
			"3. If the words speak of rate or volume, send more slowly to that provider: fewer parallel connections and a delay per destination (Postfix smtp_destination_concurrency_limit, smtp_destination_rate_delay), and spread campaigns over hours.\n" +
			"4. Authenticate your domain (SPF, DKIM, DMARC): well-authenticated senders with a good reputation are throttled less.\n" +
			"5. bounced counts it as a soft bounce; only repeated failures over days suppress an address.",
		readings: []reading{
			{ReasonServerError, "\"service not available\", \"too busy\", \"maintenance\", 4.3.x, and a bare 421 (what bounced records then)"},
			{ReasonRateLimited, "4.7.28, 4.5.3, or \"rate\", \"too many connections\", \"too many messages\""},
			{ReasonBlocklisted, "4.7.0 with \"reputation\", \"complaints\", a list's name: a temporary block for your reputation"},
			{ReasonGreylisted, "\"greylisted\", \"try again in N minutes\""},
		},
	},
	"450": {
		meaning: "A temporary refusal for this recipient: the mailbox is not available right now. Very often this is greylisting: the server refuses a first attempt on purpose and accepts the same message when it is retried. A 450 is never permanent.",
		why: "Greylisting: the receiving server refuses mail from a combination of sending IP, sender and recipient it has not seen before, because spam software rarely retries while real mail servers do. The usual wait is a few minutes (postgrey's default is 300 seconds); after one successful retry the sender is remembered, typically for about a month, and later mail passes at once.\n" +
			"The mailbox is busy or locked for a moment, or the server cannot check the address just now (Postfix 450 4.1.1 while address verification is pending).\n" +
			"The receiver dislikes something it may check again later: an IP without a reverse DNS name (Postfix \"cannot find your hostname\", 450 4.7.1), or a temporary block.",
		fix: "1. Wait and let your server retry: a greylisted message usually arrives within 5 to 30 minutes.\n" +
			"2. Check the retry settings: retries must be on and must come from the same IP or network. A sender retrying from a pool of changing IPs starts the greylisting wait again each time; a queue lifetime shorter than a few hours turns greylisting into lost mail.\n" +
			"3. Authenticate your domain with SPF, DKIM and DMARC and give each sending IP a matching reverse DNS name: many receivers skip greylisting for senders they can verify.\n" +
			"4. bounced counts a 450 as a soft bounce; a greylisted message that is delivered after a retry leaves nothing to do.",
		readings: []reading{
			{ReasonGreylisted, "4.2.0 or 4.7.1 with \"greylisted\", \"greylisting\", \"try again later\""},
			{ReasonServerError, "\"mailbox busy\", \"temporarily unavailable\", 4.3.x, and a bare 450"},
			{ReasonUserUnknown, "4.1.1 with \"unverified address\" quoting a 5xx \"no such user\": the receiver's check already failed"},
			{ReasonAuthFailure, "4.7.25 or \"cannot find your hostname\", \"reverse DNS\": your sending IP has no matching PTR name"},
			{ReasonBlocklisted, "4.7.1 with a list's name or \"reputation\""},
		},
	},
	"451": {
		meaning: "A temporary refusal: the receiving server aborted the attempt because of a local error or a local policy, and greylisting is the most common reason. Your server should try again later. A 451, with any enhanced code (451 4.7.1 included), is never permanent.",
		why: "Greylisting: the receiving server refuses senders it does not know yet on the first attempt to see whether they come back; real mail servers do, most spam software does not. The wait is usually a few minutes (often 5), after which the retry is accepted and the sender remembered for weeks.\n" +
			"Your server does not retry after the first refusal (an application sending directly without a queue), or retries from another IP, so the wait never ends.\n" +
			"A temporary local rule: too much mail from you at once, or a policy check that could not complete.\n" +
			"A temporary error at the receiver, often a DNS lookup that failed (Postfix 451 4.3.0 \"Temporary lookup failure\").",
		fix: "1. Retry: make sure your mail server queues refused messages and sends them again (Postfix and Exim do by default; an application talking SMTP directly must do it itself), from the same IP or network.\n" +
			"2. Check the retry interval and the queue lifetime: the first retry within 5 to 15 minutes, and a lifetime of days, not minutes.\n" +
			"3. Authenticate your domain with SPF, DKIM and DMARC: it builds the trust that lets many receivers skip greylisting.\n" +
			"4. If the refusals go on for hours, read the server's words: a rate limit or a block needs the fix of that reading, and the recipient's postmaster can tell you more.\n" +
			"5. bounced counts it as a soft bounce; it never suppresses an address for one temporary failure.",
		readings: []reading{
			{ReasonGreylisted, "4.7.1 or 4.7.0 with \"greylisted\", \"greylisting\", \"try again later\", \"please retry\""},
			{ReasonPolicyRejected, "4.7.1 \"temporarily rejected\" by local policy with no greylisting words, and a bare 451 4.7.1 (what bounced records then)"},
			{ReasonRateLimited, "\"too many\", \"rate limit\", 4.7.28"},
			{ReasonServerError, "4.3.0 \"local error in processing\", \"temporary lookup failure\", and a bare 451"},
		},
	},
	"553": {
		meaning: "The receiving server does not accept a mailbox name in the transaction: most often your sender address (the envelope sender or the From header) is missing, malformed, or from a domain it will not take; sometimes the recipient's address is malformed.",
		why: "The sender address is empty or malformed: stray spaces, a missing @ or domain, an unquoted display name with a comma.\n" +
			"The sending domain lacks SPF or DKIM, or has no MX or A record, so the receiver will not accept it as a sender.\n" +
			"The return-path mailbox refuses the receiver's check (sender verification callout).\n" +
			"Less often: the recipient address is malformed (553 5.1.3), or the server does not relay for the recipient's domain (qmail's \"not in my list of allowed rcpthosts\").",
		fix: "1. Correct the sender: the envelope sender (MAIL FROM, Return-Path) and the From header must each be one well-formed address, local@domain, with no extra spaces or missing characters; quote a display name with special characters (\"Shop, Inc.\" <news@shop.example>).\n" +
			"2. Set up SPF and DKIM for the sending domain and give it MX records, so receivers can check and answer it.\n" +
			"3. Make sure the return-path mailbox (the one bounced reads) accepts mail.\n" +
			"4. If the status is 5.1.3 or the words quote the recipient, the address itself is invalid: bounced suppresses it.",
		readings: []reading{
			{ReasonBadSenderAddress, "5.1.7, 5.1.8, or \"sender address rejected\", \"invalid From\", \"sender domain\", and a bare 553 (bounced's most likely reading)"},
			{ReasonBadRecipientSyntax, "5.1.3, or \"invalid address\", \"malformed\" about the recipient"},
			{ReasonAuthFailure, "5.7.23 to 5.7.26, or \"SPF\", \"DKIM\""},
			{ReasonPolicyRejected, "\"not in my list of allowed rcpthosts\", \"relaying denied\": the server does not serve that domain"},
		},
	},
	"552": {
		meaning: "The receiving server aborted because a storage limit was exceeded. Two very different problems share this code: the recipient's mailbox is full (5.2.2), or your message is too large for the server (5.3.4, 5.2.3). The enhanced status code and the words decide.",
		why: "Mailbox full: the recipient's quota is used up; a mailbox that stays full for weeks is usually abandoned.\n" +
			"Message too large: attachments beyond the receiver's limit (often 10 to 25 MB; base64 encoding adds a third to their size), or very long headers.\n" +
			"RFC 5321 (section 4.5.3.1.10) notes that old servers send 552 for \"too many recipients\", which clients should treat as the temporary 452.",
		fix: "1. Full mailbox: nothing to fix on your side. Tell the recipient through another channel if the message matters; do not resend at once. bounced counts it as a soft bounce and suppresses the address only after repeated ones (default 3 in 14 days, for 30 days).\n" +
			"2. Message too large: send links to a file-sharing service instead of large attachments, compress images, and stay under the SIZE the server announces in its EHLO answer (250-SIZE 26214400 is 25 MiB). The recipient is not suppressed.\n" +
			"3. Too many recipients: send to fewer recipients per message.",
		readings: []reading{
			{ReasonMailboxFull, "5.2.2, or \"mailbox full\", \"over quota\", \"insufficient storage\", and a bare 552 (what bounced records then)"},
			{ReasonMessageTooLarge, "5.3.4 or 5.2.3, or \"message size exceeds\", \"too large\", \"size limit\""},
			{ReasonRateLimited, "5.5.3 or \"too many recipients\""},
		},
	},
}
