package dsn

import (
	"strings"
	"testing"
)

// classifyCase is one recipient as a server reported it, and what it means.
type classifyCase struct {
	name   string
	ev     Evidence
	reason Reason
}

// failed builds the evidence of a failed DSN recipient.
func failed(status string, code int, diag string) Evidence {
	return Evidence{Kind: KindDSN, Action: ActionFailed, Status: status, SMTPCode: code, Diagnostic: diag}
}

// nonStandard builds the evidence of a recipient found in a bounce's text.
func nonStandard(diag string) Evidence {
	return Evidence{Kind: KindNonStandard, Diagnostic: diag}
}

// The example diagnostics are written in the style of the servers named,
// not copied from real bounces.
var classifyCases = []classifyCase{
	// Message kinds and actions decide first.
	{"arf abuse", Evidence{Kind: KindARF, FeedbackType: "abuse"}, ReasonComplaint},
	{"arf fraud", Evidence{Kind: KindARF, FeedbackType: "fraud"}, ReasonComplaint},
	{"arf other", Evidence{Kind: KindARF, FeedbackType: "other"}, ReasonComplaint},
	{"arf without type", Evidence{Kind: KindARF}, ReasonComplaint},
	{"arf dmarc failure report is the sender's", Evidence{Kind: KindARF, FeedbackType: "Auth-Failure"}, ReasonAuthFailure},
	{"arf virus report", Evidence{Kind: KindARF, FeedbackType: "virus"}, ReasonVirus},
	{"arf not-spam", Evidence{Kind: KindARF, FeedbackType: "Not-Spam"}, ReasonUnknown},
	{"auto reply", Evidence{Kind: KindAutoReply, Diagnostic: "I am out of the office until Monday."}, ReasonAutoReply},
	{"delivered", Evidence{Kind: KindDSN, Action: ActionDelivered, Status: "2.0.0", SMTPCode: 250, Diagnostic: "250 2.0.0 OK"}, ReasonDelivered},
	{"relayed", Evidence{Kind: KindDSN, Action: ActionRelayed, Status: "2.0.0"}, ReasonDelivered},
	{"expanded", Evidence{Kind: KindDSN, Action: "Expanded", Status: "2.0.0"}, ReasonDelivered},
	{"delayed warning stays delayed", Evidence{Kind: KindDSN, Action: ActionDelayed, Status: "4.2.2", SMTPCode: 452, Diagnostic: "452 4.2.2 Mailbox full"}, ReasonDelayed},
	{"delayed greylisting", Evidence{Kind: KindDSN, Action: "DELAYED", Status: "4.7.1", Diagnostic: "451 4.7.1 Greylisted"}, ReasonDelayed},

	// Unknown users, in many servers' words.
	{"postfix virtual table", failed("5.1.1", 550, "550 5.1.1 <alice@example.org>: Recipient address rejected: User unknown in virtual mailbox table"), ReasonUserUnknown},
	{"gmail folded continuation", failed("5.1.1", 550, "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. 550 5.1.1 https://support.example.com/NoSuchUser q1si2 - gsmtp"), ReasonUserUnknown},
	{"exim 5.0.0 with real code in text", failed("5.0.0", 550, "550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown"), ReasonUserUnknown},
	{"exim 5.0.0 code only in text", failed("5.0.0", 0, "SMTP error from remote mail server after RCPT TO:<bob@example.net>: 550 5.1.1 <bob@example.net> no mailbox here by that name"), ReasonUserUnknown},
	{"outlook 5.5.0 mailbox unavailable", failed("5.5.0", 550, "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [host.prod.outlook.example]"), ReasonUserUnknown},
	{"550 5.5.0 user unknown", failed("5.5.0", 550, "550 5.5.0 User unknown"), ReasonUserUnknown},
	{"exchange resolver", failed("5.1.10", 550, "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"), ReasonUserUnknown},
	{"microsoft edge block 5.4.1", failed("5.4.1", 550, "550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [edge.protection.outlook.example]"), ReasonUserUnknown},
	{"yahoo 554 no account", failed("", 554, "554 delivery error: dd This user doesn't have a example.com account (carol@example.com) [0] - mta1.mail.example.com"), ReasonUserUnknown},
	{"sendmail 550 user unknown no status", failed("", 550, "550 5.1.1 <dave@example.jp>... User unknown"), ReasonUserUnknown},
	{"qmail no mailbox", nonStandard("<erin@example.org>:\n192.0.2.1 does not like recipient.\nRemote host said: 550 sorry, no mailbox here by that name. (#5.1.1)"), ReasonUserUnknown},
	{"5.1.6 moved", failed("5.1.6", 550, "550 5.1.6 recipient no longer on server: frank@example.com"), ReasonUserUnknown},
	{"bare refusal of the named address", failed("5.0.0", 542, "542 grace@example.com Rejected"), ReasonUserUnknown},
	{"bare refusal, address last", failed("", 550, "550 Rejected: <grace@example.com>"), ReasonUserUnknown},
	{"bare refusal without an address says nothing of it", failed("5.0.0", 550, "550 Rejected"), ReasonPolicyRejected},
	{"refusal naming two addresses", failed("5.0.0", 550, "550 <a@example.com> <b@example.com> rejected"), ReasonPolicyRejected},
	{"refusal of the address with a cause keeps the cause", failed("5.0.0", 550, "550 <grace@example.com> rejected: spam"), ReasonSpamContent},
	{"temporary bare refusal is no suppression", failed("4.0.0", 450, "450 <grace@example.com> rejected"), ReasonPolicyRejected},
	{"550 mailbox unavailable no status", nonStandard("550 Requested action not taken: mailbox unavailable"), ReasonUserUnknown},
	{"local part that looks like a reason", failed("5.1.1", 550, "550 5.1.1 <spam-virus-relay@example.org>: Recipient address rejected: User unknown in local recipient table"), ReasonUserUnknown},
	{"german", failed("5.1.1", 550, "550 5.1.1 Benutzer unbekannt / Empfänger existiert nicht"), ReasonUserUnknown},
	{"german no status", nonStandard("Die Adresse <x@example.de> ist unbekannt."), ReasonUserUnknown},
	{"french", failed("5.1.1", 550, "550 5.1.1 Adresse d au moins un destinataire invalide. Utilisateur inconnu"), ReasonUserUnknown},
	{"french n'existe pas", nonStandard("550 Le destinataire n’existe pas"), ReasonUserUnknown},
	{"spanish", nonStandard("550 El usuario no existe en este servidor"), ReasonUserUnknown},
	{"portuguese", nonStandard("550 Usuário desconhecido"), ReasonUserUnknown},
	{"italian", nonStandard("550 Utente sconosciuto: la casella non esiste"), ReasonUserUnknown},
	{"japanese", nonStandard("550 宛先のメールアドレスは存在しません"), ReasonUserUnknown},
	{"russian", nonStandard("550 Пользователь не существует"), ReasonUserUnknown},
	{"postfix access denied on recipient", failed("5.7.1", 554, "554 5.7.1 <gina@example.ch>: Recipient address rejected: Access denied"), ReasonUserUnknown},
	{"office 365 not found at", nonStandard("Your message to bob@example.com couldn't be delivered. bob wasn't found at example.com."), ReasonUserUnknown},
	{"apple inactive is disabled", failed("5.2.1", 550, "550 5.2.1 <h@example.com>: inactive email address"), ReasonMailboxDisabled},

	// Disabled mailboxes.
	{"disabled 5.2.1", failed("5.2.1", 550, "550 5.2.1 The email account that you tried to reach is disabled."), ReasonMailboxDisabled},
	{"suspended", failed("5.0.0", 550, "550 Account has been suspended"), ReasonMailboxDisabled},
	{"yahoo discontinued", failed("", 554, "554 delivery error: dd Sorry your message to i@example.com cannot be delivered. This account has been disabled or discontinued [#102]."), ReasonMailboxDisabled},
	{"5.7.13 account disabled", failed("5.7.13", 525, "525 5.7.13 User account disabled"), ReasonMailboxDisabled},
	{"locked wins over try again", failed("5.7.1", 550, "550 5.7.1 <j@example.com>: Recipient address rejected: User temporarily locked. Please try again later!"), ReasonMailboxDisabled},
	{"german gesperrt", nonStandard("550 Das Postfach ist deaktiviert"), ReasonMailboxDisabled},
	{"french blocked account", failed("5.5.0", 550, "550 5.5.0 Le compte du destinataire est bloque. The recipient account is blocked."), ReasonMailboxDisabled},
	{"spanish disabled", nonStandard("550 La cuenta desactivada no recibe correo"), ReasonMailboxDisabled},
	{"portuguese disabled", nonStandard("550 Conta desativada"), ReasonMailboxDisabled},
	{"italian disabled", nonStandard("550 Account disattivato"), ReasonMailboxDisabled},
	{"japanese disabled", nonStandard("550 このアカウントが無効になっています"), ReasonMailboxDisabled},
	{"russian disabled", nonStandard("550 Почтовый ящик заблокирован"), ReasonMailboxDisabled},
	{"german host", nonStandard("550 Die Domain existiert nicht"), ReasonHostUnknown},
	{"french host", nonStandard("550 Domaine inexistant"), ReasonHostUnknown},
	{"russian host", nonStandard("550 Домен не найден"), ReasonHostUnknown},
	{"german relay", nonStandard("554 Relay nicht erlaubt"), ReasonRelayDenied},
	{"spanish spam", nonStandard("550 Mensaje rechazado: correo no deseado"), ReasonSpamContent},
	{"japanese spam", nonStandard("550 迷惑メールと判定されました"), ReasonSpamContent},
	{"russian spam", nonStandard("550 Сообщение похоже на спам"), ReasonSpamContent},
	{"italian too large", nonStandard("552 Messaggio troppo grande"), ReasonMessageTooLarge},
	{"german virus", nonStandard("554 Virus gefunden: Eicar"), ReasonVirus},
	{"portuguese rate", nonStandard("421 Muitas mensagens, tente novamente mais tarde"), ReasonRateLimited},

	// Unknown hosts.
	{"postfix host not found", failed("5.4.4", 0, "Host or domain name not found. Name service error for name=example.invalid type=A: Host not found"), ReasonHostUnknown},
	{"null mx under 4.0.0", failed("4.0.0", 0, "DNS Error: DNS type 'mx' lookup of example.net responded with code NOERROR The domain example.net doesn't receive email according to the administrator: returned Null MX"), ReasonHostUnknown},
	{"5.1.10 null mx", failed("5.1.10", 556, "556 5.1.10 Recipient address has null MX"), ReasonHostUnknown},
	{"521 host accepts no mail", failed("", 521, "521 mail.example.org does not accept mail"), ReasonHostUnknown},
	{"qmail no mail exchanger", nonStandard("<k@example.test>:\nSorry, I couldn't find a mail exchanger or IP address. (#5.4.4)"), ReasonHostUnknown},
	{"sendmail host unknown", failed("5.1.2", 550, "550 Host unknown"), ReasonHostUnknown},
	{"spanish domain", nonStandard("550 El dominio no existe"), ReasonHostUnknown},

	// Syntax.
	{"postfix bad syntax", failed("5.1.3", 553, "553 5.1.3 <a b@example.org>: Recipient address rejected: Bad recipient address syntax"), ReasonBadRecipientSyntax},
	{"outlook invalid address 5.1.3", failed("5.1.3", 501, "501 5.1.3 Invalid address [host.outlook.example]"), ReasonBadRecipientSyntax},
	{"gmail not rfc 5321", failed("5.0.0", 553, "553-5.1.3 The recipient address <x..y@example.com> is not a valid RFC 5321 553-5.1.3 address. 553 5.1.3 https://support.example.com - gsmtp"), ReasonBadRecipientSyntax},

	// Full mailboxes.
	{"552 5.2.2", failed("5.2.2", 552, "552 5.2.2 <l@example.com>: user is over quota"), ReasonMailboxFull},
	{"452 4.2.2", failed("4.2.2", 452, "452 4.2.2 Mailbox full"), ReasonMailboxFull},
	{"4.x.x with mailbox full text", failed("4.0.0", 450, "450 Mailbox full, try again later"), ReasonMailboxFull},
	{"quota in text beats 5.1.1", failed("5.1.1", 552, "552 sorry, mailbox m@example.org is over quota temporarily (#5.1.1)"), ReasonMailboxFull},
	{"exim retry timeout with full mailbox", failed("5.0.0", 0, "mailbox is full: retry timeout exceeded"), ReasonMailboxFull},
	{"exchange quota", failed("5.2.2", 552, "552 5.2.2 Requested mail action aborted: exceeded storage allocation (STOREDRV.Deliver.Exception:QuotaExceededException)"), ReasonMailboxFull},
	{"mailbox size limit is full not too large", failed("5.2.2", 552, "552 5.2.2 Mailbox size limit exceeded"), ReasonMailboxFull},
	{"german voll", nonStandard("552 Postfach voll"), ReasonMailboxFull},
	{"french pleine", nonStandard("552 Boîte aux lettres pleine"), ReasonMailboxFull},
	{"spanish", nonStandard("552 Buzón lleno"), ReasonMailboxFull},
	{"portuguese", nonStandard("552 Caixa postal cheia"), ReasonMailboxFull},
	{"italian", nonStandard("552 Casella piena"), ReasonMailboxFull},
	{"japanese", nonStandard("552 メールボックスの容量超過"), ReasonMailboxFull},
	{"russian", nonStandard("552 Почтовый ящик переполнен"), ReasonMailboxFull},

	// Sender authentication.
	{"gmail 5.7.26 dmarc", failed("5.7.26", 550, "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's 550-5.7.26 DMARC policy."), ReasonAuthFailure},
	{"gmail spf hard fail", failed("5.7.26", 550, "550-5.7.26 The MAIL FROM domain [example.com] has an SPF record with a hard fail policy (-all) but it fails to pass SPF checks"), ReasonAuthFailure},
	{"microsoft 5.7.509", failed("5.7.509", 550, "550 5.7.509 Access denied, sending domain EXAMPLE.COM does not pass DMARC verification and has a DMARC policy of reject."), ReasonAuthFailure},
	{"exim 5.0.0 microsoft dmarc", failed("5.0.0", 550, "550 5.7.509 Access denied, sending domain example.com does not pass DMARC verification"), ReasonAuthFailure},
	{"5.7.23 spf without text", failed("5.7.23", 550, ""), ReasonAuthFailure},
	{"5.7.25 reverse dns", failed("5.7.25", 550, "550 5.7.25 [192.0.2.1] The IP address sending this message does not have a PTR record setup"), ReasonAuthFailure},
	{"5.7.1 dmarc in text", failed("5.7.1", 550, "550 5.7.1 This message was not accepted due to domain (example.org) owner DMARC policy"), ReasonAuthFailure},
	{"postfix policyd-spf url", failed("5.7.1", 554, "554 5.7.1 <x@example.org>: Recipient address rejected: Please see http://www.openspf.net/Why?s=mfrom;id=news@example.com"), ReasonAuthFailure},
	{"gmail unauthenticated 4.7.0", nonStandard("421-4.7.0 This message does not have authentication information or fails to 421-4.7.0 pass authentication checks. To best protect our users from spam, the 421-4.7.0 message has been blocked."), ReasonAuthFailure},
	{"smtp auth required", failed("5.7.0", 530, "530 5.7.0 Authentication required"), ReasonAuthFailure},

	// Blocklists and reputation.
	{"spamhaus 5.7.1", failed("5.7.1", 554, "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.1"), ReasonBlocklisted},
	{"blocklist beats a wrong 5.1.1", failed("5.1.1", 550, "550 5.7.1 IP address blacklisted by recipient"), ReasonBlocklisted},
	{"outlook block list", failed("5.7.1", 550, "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150)."), ReasonBlocklisted},
	{"gmail reputation", failed("5.7.1", 550, "550-5.7.1 [192.0.2.1] Our system has detected that this message is 550-5.7.1 likely suspicious due to the very low reputation of the sending IP"), ReasonBlocklisted},
	{"proofpoint dnsbl", failed("4.0.0", 554, "554 Blocked - see https://ipcheck.proofpoint.example/?ip=192.0.2.1"), ReasonBlocklisted},
	{"microsoft ip reputation 4.7.650", failed("4.7.650", 451, "451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP reputation."), ReasonBlocklisted},
	{"barracuda", failed("5.7.1", 554, "554 Service unavailable; Client host [192.0.2.1] blocked using b.barracudacentral.org"), ReasonBlocklisted},
	{"german sperrliste", failed("5.7.1", 554, "554 5.7.1 Ihre IP-Adresse steht auf einer Sperrliste"), ReasonBlocklisted},

	// Spam content.
	{"barracuda ube", failed("5.7.1", 550, "550 5.7.1 Message content rejected, UBE, id=00000-00-000"), ReasonSpamContent},
	{"scored as spam", failed("5.0.0", 554, "host mx.example.com said: 554 5.6.0 This message has been scored as spam with a probability of more than 90%"), ReasonSpamContent},
	{"exim 5.0.0 spam", failed("5.0.0", 550, "550 5.7.1 Message rejected as spam"), ReasonSpamContent},
	{"french spam", nonStandard("550 5.7.1 Message refusé : spam détecté"), ReasonSpamContent},

	// Relay, sender address, size, virus, rate.
	{"relay access denied", failed("5.7.1", 554, "554 5.7.1 <n@example.org>: Relay access denied"), ReasonRelayDenied},
	{"not configured to relay", failed("5.0.0", 501, "501 RCPT TO not accepted: 5.7.1 This system is not configured to relay mail"), ReasonRelayDenied},
	{"sender domain missing", failed("5.1.8", 553, "553 5.1.8 <news@example.invalid>: Sender address rejected: Domain not found"), ReasonBadSenderAddress},
	{"5.1.8 alone", failed("5.1.8", 501, "501 5.1.8 Sender address rejected"), ReasonBadSenderAddress},
	{"unknown user after MAIL FROM is the sender", nonStandard("SMTP error from remote mail server after MAIL FROM:<news@example.com> SIZE=1234: 553 5.1.1 <news@example.com>... unknown user"), ReasonBadSenderAddress},
	{"size 5.3.4", failed("5.3.4", 552, "552 5.3.4 Message size exceeds fixed limit"), ReasonMessageTooLarge},
	{"size 5.2.3", failed("5.2.3", 552, "552 5.2.3 Message length exceeds administrative limit"), ReasonMessageTooLarge},
	{"virus", failed("5.7.1", 554, "554 5.7.1 Message rejected: virus found (Eicar-Test-Signature)"), ReasonVirus},
	{"virus without status", failed("5.0.0", 550, "550 Virus Detected; Content Rejected"), ReasonVirus},
	{"too many recipients 4.5.3", failed("4.5.3", 452, "452 4.5.3 Too many recipients"), ReasonRateLimited},
	{"gmail receiving rate 4.2.1", failed("4.2.1", 450, "450-4.2.1 The user you are trying to contact is receiving mail at a rate that 450-4.2.1 prevents additional messages from being delivered."), ReasonRateLimited},
	{"gmail receiving rate under 5.2.1", failed("5.2.1", 550, "550-5.2.1 The user you are trying to contact is receiving mail at a rate that 550-5.2.1 prevents additional messages from being delivered."), ReasonRateLimited},
	{"too many connections", failed("4.7.0", 421, "421 4.7.0 Too many connections from your IP, slow down"), ReasonRateLimited},
	{"4.7.28 flood", failed("4.7.28", 421, ""), ReasonRateLimited},

	// Policy.
	{"local policy", failed("5.7.0", 550, "550 5.7.0 Local Policy Violation"), ReasonPolicyRejected},
	{"yahoo 5.7.9", failed("5.7.9", 554, "554 5.7.9 Message not accepted for policy reasons."), ReasonPolicyRejected},
	{"tls required", failed("5.7.0", 530, "530 5.7.0 Must issue a STARTTLS command first"), ReasonPolicyRejected},
	{"5.7.1 weak recipient words stay policy", failed("5.7.1", 550, "550 5.7.1 <o@example.org>: Recipient address rejected"), ReasonPolicyRejected},
	{"bare 554", failed("5.0.0", 554, ""), ReasonPolicyRejected},
	{"google group may not exist, no permission (french)", nonStandard("Il se peut que le groupe que vous avez essayé de contacter n'existe pas ou que vous ne soyez pas autorisé à lui envoyer des messages."), ReasonBadSenderAddress},
	{"gmail policy prohibited", failed("5.7.1", 550, "550-5.7.1 [192.0.2.1] The user or domain that you are sending to (or from) has a policy that 550-5.7.1 prohibited the mail that you sent."), ReasonPolicyRejected},
	{"exchange transport rule", failed("5.7.1", 550, "550 5.7.1 TRANSPORT.RULES.RejectMessage; the message was rejected by organization policy"), ReasonPolicyRejected},
	{"helo rejected", nonStandard("504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname"), ReasonPolicyRejected},

	// Transient.
	{"postfix greylisting", failed("4.7.1", 450, "450 4.7.1 <p@example.org>: Recipient address rejected: Greylisted, see http://postgrey.example/"), ReasonGreylisted},
	{"deferred greylisting, not failed", nonStandard("451 4.7.1 Please try again later"), ReasonGreylisted},
	{"server error 4.3.0", nonStandard("451 4.3.0 Internal server error"), ReasonServerError},
	{"service not available", nonStandard("421 4.3.2 Service not available, closing transmission channel"), ReasonServerError},
	{"5.3.0 system error", failed("5.3.0", 554, "554 5.3.0 Internal system error"), ReasonServerError},
	{"failed with 4.4.1 connection timed out gave up", failed("4.4.1", 0, "connect to mx.example.com[192.0.2.2]:25: Connection timed out"), ReasonExpired},
	{"refused connection, not failed yet", nonStandard("connect to mx.example.com[192.0.2.2]:25: Connection refused"), ReasonNetworkError},
	{"qmail gave up after no connection", nonStandard("Sorry, I wasn't able to establish an SMTP connection. (#4.4.1) I'm not going to try again; this message has been in the queue too long."), ReasonExpired},
	{"sendmail gave up on dns", failed("4.4.7", 0, "Deferred: Name server: example.co.jp.: host name lookup failure Message could not be delivered for 8 hours"), ReasonExpired},
	{"sendmail dns trouble, still trying", nonStandard("Deferred: Name server: example.co.jp.: host name lookup failure"), ReasonNetworkError},
	{"server error kept after giving up", failed("4.3.0", 451, "451 4.3.0 Internal server error"), ReasonServerError},
	{"nxdomain under 4.0.0 is dns trouble", failed("4.0.0", 0, "DNS Error: DNS type 'mx' lookup of example.comm responded with code NXDOMAIN Domain name not found: example.comm"), ReasonNetworkError},
	{"postfix temporary dns", nonStandard("Name service error for domain example.com: Host not found, try again"), ReasonNetworkError},
	{"routing loop", failed("5.4.6", 554, "554 5.4.6 Too many hops"), ReasonNetworkError},
	{"expired 4.4.7", failed("4.4.7", 0, "delivery temporarily suspended: connect to mx.example.org: Connection refused"), ReasonNetworkError},
	{"failed 4.x.x without cause", failed("4.0.0", 0, ""), ReasonExpired},
	{"failed 4.7.1 without words", failed("4.7.1", 451, ""), ReasonExpired},
	{"message expired", failed("4.4.7", 554, "554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed out>"), ReasonExpired},
	{"exim all hosts failing", nonStandard("all hosts have been failing for a long time and were last tried after this message arrived"), ReasonExpired},
	{"queue too long", nonStandard("I'm not going to try again; this message has been in the queue too long."), ReasonExpired},

	// More servers' words.
	{"mail.ru invalid mailbox", nonStandard("550 Message was not accepted -- invalid mailbox.  Local mailbox x@mail.example is unavailable: user not found"), ReasonUserUnknown},
	{"mail.ru full mailbox", nonStandard("552 Message was not accepted -- invalid mailbox.  Local mailbox x@mail.example is unavailable: mailbox is full"), ReasonMailboxFull},
	{"m365 banned ip", failed("5.7.606", 550, "550 5.7.606 Access denied, banned sending IP [192.0.2.1]."), ReasonBlocklisted},
	{"m365 traffic not accepted", failed("5.7.708", 550, "550 5.7.708 Access denied, traffic not accepted from this IP."), ReasonBlocklisted},
	{"m365 spam content", failed("5.7.520", 550, "550 5.7.520 Message blocked because it contains content identified as spam. AS(4810)"), ReasonSpamContent},
	{"m365 nonexistent domain", failed("5.4.310", 550, "550 5.4.310 DNS domain example.invalid does not exist [Message=InfoDomainNonexistent]"), ReasonHostUnknown},
	{"m365 expired connection refused", failed("5.4.316", 550, "550 5.4.316 Message expired, connection refused(Socket error code 10061)"), ReasonExpired},
	{"exchange recipient size limit", failed("5.7.1", 550, "550 5.7.1 RESOLVER.RST.RecipSizeLimit; message too large for this recipient"), ReasonMessageTooLarge},
	{"free.fr too many spams", failed("4.7.1", 450, "450 4.7.1 <x@free.example>: Recipient address rejected: Too many spams from your IP (192.0.2.1)"), ReasonSpamContent},
	{"italian inesistente", failed("5.1.1", 550, "550 5.1.1 <x@example.it>: Recipient address rejected: Utente inesistente"), ReasonUserUnknown},
	{"german nicht vorhanden", nonStandard("550 Postfach nicht vorhanden"), ReasonUserUnknown},
	{"postfix address verification in progress", failed("4.1.1", 450, "450 4.1.1 <x@example.org>: Recipient address rejected: unverified address: Address verification in progress"), ReasonServerError},
	{"postfix verification found unknown", failed("4.1.1", 450, "450 4.1.1 <x@example.org>: Recipient address rejected: unverified address: host mx.example.org said: 550 5.1.1 user unknown"), ReasonUserUnknown},
	{"sender verify failed", nonStandard("550-Verification failed for <news@example.com> 550-Unrouteable address 550 Sender verify failed"), ReasonBadSenderAddress},
	{"comcast dnsbls", nonStandard("554 resimta.example.net 192.0.2.1 found on one or more DNSBLs, see http://postmaster.example.net/smtp-error-codes.php#BL000001"), ReasonBlocklisted},
	{"amavis infected", failed("5.7.0", 554, "554 5.7.0 Reject, id=12345-01 - INFECTED: Eicar-Test-Signature"), ReasonVirus},
	{"gmail unusual rate 5.7.28", failed("5.7.28", 550, "550-5.7.28 [192.0.2.1] Our system has detected an unusual rate of unsolicited mail originating from your IP address."), ReasonRateLimited},
	{"orange archived", failed("5.2.0", 554, "554 5.2.0 Boite du destinataire archivee. Archived recipient."), ReasonMailboxDisabled},

	// Breadth: servers the golden messages did not cover yet.
	{"gmail disabled account without code", nonStandard("Technical details of permanent failure: The email account that you tried to reach is disabled."), ReasonMailboxDisabled},
	{"gmail inactive account", failed("5.2.1", 550, "550-5.2.1 The email account that you tried to reach is inactive and can't receive messages."), ReasonMailboxDisabled},
	{"korean address does not exist", nonStandard("실패 사유: 받는 사람의 메일 주소가 존재하지 않습니다."), ReasonUserUnknown},
	{"korean domain does not exist", nonStandard("실패 사유: 존재하지 않는 도메인입니다."), ReasonHostUnknown},
	{"korean capacity exceeded", nonStandard("받는 사람의 메일함 용량이 초과되었습니다."), ReasonMailboxFull},
	{"korean dormant account", nonStandard("받는 사람의 계정이 휴면 상태입니다."), ReasonMailboxDisabled},
	{"czech user does not exist", nonStandard("Uživatel neexistuje."), ReasonUserUnknown},
	{"czech domain does not exist", nonStandard("Doména neexistuje."), ReasonHostUnknown},
	{"czech mailbox full", nonStandard("Schránka příjemce je plná."), ReasonMailboxFull},
	{"polish mailbox full", nonStandard("550 Skrzynka odbiorcy jest pełna"), ReasonMailboxFull},
	{"polish user does not exist", failed("5.1.1", 550, "550 5.1.1 Użytkownik nie istnieje"), ReasonUserUnknown},
	{"czech sender domain is the sender's", nonStandard("550 Doména odesílatele neexistuje"), ReasonBadSenderAddress},
	{"spanish full without buzón", nonStandard("El buzón del destinatario está lleno."), ReasonMailboxFull},
	{"chinese frozen mailbox", nonStandard("退信原因: 收件人邮箱已被冻结"), ReasonMailboxDisabled},
	{"comcast block for spam", failed("5.0.0", 554, "554 resimta.example.net 192.0.2.1 Comcast block for spam. Please see http://postmaster.example.net/smtp-error-codes.php#BL000000"), ReasonBlocklisted},

	// Where the words stand and what wraps them.
	{"unknown user at end of DATA is a filter", failed("5.0.0", 550, "550 Unknown user x@example.jp (in reply to end of DATA command)"), ReasonPolicyRejected},
	{"disabled account at end of DATA stays", failed("5.0.0", 554, "554 delivery error: This account has been disabled or discontinued (in reply to end of DATA command)"), ReasonMailboxDisabled},
	{"procmail no such user is the server's", failed("5.1.1", 0, "procmail: Couldn't create \"/var/spool/mail/x\" id: example.org: No such user"), ReasonServerError},
	{"exim pipe failure", nonStandard("pipe to |/usr/local/bin/filter x@example.org generated by x@example.org"), ReasonServerError},
	{"blacklisted url is content", failed("", 550, "550-REJECTED - Blacklisted URL in message. 550 See http://lookup.uribl.example"), ReasonSpamContent},
	{"cpanel unroutable", nonStandard("The mail server could not deliver mail to x@example.net.  The account or domain may not exist, they may be blacklisted, or missing the proper dns entries."), ReasonHostUnknown},
	{"address parts words", failed("5.0.0", 554, "554 Mail from x@example.net rejected for policy reasons."), ReasonPolicyRejected},
	{"user unknown then host", failed("5.2.1", 550, "550 5.2.1 <x@example.jp>... User Unknown <x@example.jp>: host mx.example.jp said"), ReasonUserUnknown},
	{"gmail permanent no connection", failed("", 0, "Technical details of permanent failure: The recipient server did not accept our requests to connect."), ReasonExpired},
	{"postfix dns try again stays", nonStandard("<x@example.com>: Name service error for domain example.com: Host not found, try again"), ReasonNetworkError},
	{"google groups any language", nonStandard("Dobrý den, skupina pravděpodobně neexistuje. https://groups.google.com/support/"), ReasonBadSenderAddress},
	{"la poste service refused", failed("5.5.0", 550, "550 5.5.0 Service refuse. Veuillez essayer plus tard. service refused, please try later. LPN001_108"), ReasonPolicyRejected},
	{"on hold is no proof", failed("5.0.0", 550, "550 5.0.0 <x@example.net>: Recipient address rejected: On hold"), ReasonServerError},

	// Nothing to go by.
	{"nothing at all", failed("", 0, ""), ReasonUnknown},

	// The arbitration table: specific codes against the text.
	{"specific code beats generic policy words", failed("5.1.1", 550, "550 Delivery not authorized by local policy"), ReasonUserUnknown},
	{"catch-all 5.7.1 yields to specific text", failed("5.7.1", 550, "550 5.7.1 No mailbox found"), ReasonUserUnknown},
	{"catch-all 5.5.0 yields to specific text", failed("5.5.0", 550, "550 5.5.0 User not known"), ReasonUserUnknown},
	{"suppressing code, soft text: nobody suppressed", failed("5.1.1", 550, "550 5.1.1 Mailbox is full"), ReasonMailboxFull},
	{"soft code, suppressing text: nobody suppressed", failed("5.2.2", 552, "552 5.2.2 User unknown"), ReasonMailboxFull},
	{"named policy overrules a suppressing code", failed("5.1.1", 550, "550 5.1.1 TLS required for this domain"), ReasonPolicyRejected},
	{"full mailbox before a size limit", failed("", 452, "452 Mailbox size limit exceeded"), ReasonMailboxFull},
	{"gave up does not overrule a specific permanent code", failed("5.1.1", 550, "550 5.1.1 user unknown, giving up"), ReasonUserUnknown},

	// Text that names our side.
	{"our HELO name is no host_unknown", failed("5.0.0", 550, "550 my name was rejected: mail.example.com: Invalid domain name"), ReasonPolicyRejected},
	{"your domain", nonStandard("550 Your domain does not exist"), ReasonPolicyRejected},
	{"header syntax of the sent message", failed("5.1.3", 553, "553 5.1.3 malformed address: <a@example.com> may not follow <Shop>"), ReasonPolicyRejected},
	{"sender named by the refusal", nonStandard("550 mx.example.org is not accepting mail from <list@example.com>"), ReasonPolicyRejected},

	// Words of servers the corpus lacks.
	{"null mx in words", nonStandard("Domain example.org has no SMTP service"), ReasonHostUnknown},
	{"abandoned", failed("5.0.0", 550, "550 This mailbox has been abandoned"), ReasonMailboxDisabled},
	{"not collected", nonStandard("550 mail not collected after 30 days"), ReasonMailboxDisabled},
	{"no longer valid", nonStandard("550 this email address is wrong or no longer valid"), ReasonUserUnknown},
	{"no final delivery point", failed("5.4.1", 550, "550 5.4.1 Recipient does not have a final email delivery point"), ReasonUserUnknown},
	{"no valid recipients", failed("", 554, "554 5.5.1 Error: no valid recipients"), ReasonUserUnknown},
	{"not an active address", nonStandard("550 <a@example.org> is not an active address"), ReasonUserUnknown},
	{"attempts count", failed("", 0, "Delivery failed 20 attempts"), ReasonExpired},
	{"hours count", failed("", 0, "Delivery aborted after 5 hour(s)"), ReasonExpired},
	{"queue period", failed("", 0, "was not reachable within the allowed queue period"), ReasonExpired},
	{"ses attempts boilerplate says nothing", failed("5.1.0", 550, "550 5.7.1 Access denied (delivery attempts: 0)"), ReasonPolicyRejected},
	{"connection frequency", failed("4.7.0", 421, "421 4.7.0 Connection frequency limited"), ReasonRateLimited},
	{"advice names no cause", failed("5.0.0", 0, "rejected due to spam classification. To address this issue: set up SPF records"), ReasonSpamContent},
	{"exchange quota exception", failed("5.0.0", 554, "554 STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded"), ReasonMailboxFull},
	{"courier disk space limit", nonStandard("User wilma has exceeded his/her disk space limit."), ReasonMailboxFull},
	{"swedish unknown", nonStandard("550 Okänd mottagare"), ReasonUserUnknown},
	{"danish unknown", nonStandard("550 Adressen findes ikke"), ReasonUserUnknown},
	{"norwegian unknown", nonStandard("550 Ukjent mottaker"), ReasonUserUnknown},
	{"turkish unknown", nonStandard("550 Kullanıcı bulunamadı"), ReasonUserUnknown},
	{"turkish full", nonStandard("552 Posta kutusu dolu"), ReasonMailboxFull},
	{"hungarian unknown", nonStandard("550 A címzett nem létezik"), ReasonUserUnknown},
	{"dutch full", nonStandard("552 De mailbox is vol"), ReasonMailboxFull},
	{"postfix loop", nonStandard("mail for example.org loops back to myself"), ReasonNetworkError},
	{"address blocked by the recipient", failed("5.7.1", 550, "550 5.7.1 your address has been blacklisted by the recipient"), ReasonPolicyRejected},
	{"bare 550 suppresses no one", failed("5.0.0", 550, "550 Your message could not be delivered"), ReasonUnknown},
	{"unrelated words", nonStandard("Please see the attached message."), ReasonUnknown},
	{"4.x.x without failure", nonStandard("451 4.0.0 something odd happened"), ReasonServerError},
}

// expectedClassification is ClassificationOf(r), with the verdict soft for
// a permanent failure whose cause is unknown (DESIGN.md, Verdicts).
func expectedClassification(ev Evidence, r Reason) Classification {
	c := ClassificationOf(r)
	if r == ReasonUnknown && failedForGood(ev) {
		c.Verdict = VerdictSoft
	}
	return c
}

func TestClassify(t *testing.T) {
	for _, tc := range classifyCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(tc.ev)
			if got.Reason != tc.reason {
				t.Fatalf("Classify(%+v).Reason = %s, want %s", tc.ev, got.Reason, tc.reason)
			}
			if want := expectedClassification(tc.ev, tc.reason); got != want {
				t.Errorf("classification = %+v, want %+v", got, want)
			}
		})
	}
}

// senderSide are sender-side failures in many shapes, some with misleading
// recipient-side codes. None may ever suppress the recipient.
var senderSide = []Evidence{
	failed("5.1.1", 550, "550 5.1.1 Client host [192.0.2.1] blocked using bl.spamcop.net"),
	failed("5.2.1", 550, "550 5.2.1 Your IP is listed at zen.spamhaus.org"),
	failed("5.1.1", 550, "550 5.1.1 Message rejected because of SPF failure for example.com"),
	failed("5.1.1", 550, "550 5.1.1 DKIM signature does not verify"),
	failed("5.0.0", 550, "550 5.7.1 Message rejected as spam by Content Filtering"),
	failed("5.2.2", 552, "552 5.2.2 Relaying denied"),
	failed("5.1.1", 554, "554 5.1.1 Virus found in attachment"),
	failed("5.1.2", 550, "550 5.1.2 Too many recipients this hour from 192.0.2.1"),
	failed("5.1.1", 550, "550 5.1.1 <bounce@example.com>: Sender address rejected: Domain not found"),
	failed("5.1.3", 550, "550 5.1.3 Message size exceeds fixed maximum message size"),
	failed("5.5.0", 550, "550 5.5.0 Service refusé: IP bloquée, réputation insuffisante"),
	failed("", 553, "553 http://www.spamhaus.org/query/bl?ip=192.0.2.1"),
	failed("4.0.0", 421, "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints"),
	nonStandard("SMTP error from remote mail server after initial connection: 554 user unknown, go away"),
	nonStandard("Remote host said: 550 5.1.1 Your message looks like spam"),
	nonStandard("550 Absender unbekannt: Ihre Absenderadresse wurde abgelehnt"),
	nonStandard("550 No existe el remitente"),
	nonStandard("550 送信者のアドレスが存在しません"),
	nonStandard("550 Адрес отправителя не существует"),
	failed("5.0.0", 550, "550 Mailbox unavailable: your IP 192.0.2.1 is on our blacklist"),
	failed("5.0.0", 550, "550 User unknown; message contains a virus"),
}

func TestSenderSideNeverSuppresses(t *testing.T) {
	for _, ev := range senderSide {
		if c := Classify(ev); c.Verdict == VerdictSuppress || c.Scope == ScopeRecipient {
			t.Errorf("Classify(%q, %s) = %s/%s/%s: a sender-side failure must not suppress", ev.Diagnostic, ev.Status, c.Reason, c.Scope, c.Verdict)
		}
	}
}

// TestSenderPhrasesNeverSuppress puts every phrase of every sender-side table
// behind a recipient-side status code and reply: the phrase must win.
func TestSenderPhrasesNeverSuppress(t *testing.T) {
	for _, tab := range phraseTables {
		if scopeOf(tab.Reason) != ScopeSender {
			continue
		}
		for _, p := range append(append([]string{}, tab.Phrases...), tab.Words...) {
			for _, st := range []string{"5.1.1", "5.2.1", "5.1.2", "5.0.0", ""} {
				ev := failed(st, 550, "550 "+st+" "+p)
				if c := Classify(ev); c.Verdict == VerdictSuppress {
					t.Errorf("%s phrase %q with status %q: got %s, suppress", tab.Reason, p, st, c.Reason)
				}
			}
		}
	}
}

// TestRecipientPhrasesSuppress: every phrase of the permanent recipient-side
// tables, alone under an unspecific status, must be recognised and suppress.
func TestRecipientPhrasesSuppress(t *testing.T) {
	for _, tab := range phraseTables {
		info := reasonInfos[tab.Reason]
		if info.Scope != ScopeRecipient || !info.Permanent {
			continue
		}
		for _, p := range append(append([]string{}, tab.Phrases...), tab.Words...) {
			c := Classify(failed("5.0.0", 550, "550 "+p))
			if c.Verdict != VerdictSuppress {
				t.Errorf("%s phrase %q: got %s/%s, want a suppression", tab.Reason, p, c.Reason, c.Verdict)
			}
		}
	}
}

// TestPhraseTables checks the tables themselves: every entry is found by the
// matcher in its own text (so normalization does not eat it), and no entry
// stands in two tables, which would contradict itself.
func TestPhraseTables(t *testing.T) {
	seen := map[string]Reason{}
	for _, tab := range phraseTables {
		lists := [][]string{tab.Phrases, tab.Words, tab.Weak}
		for li, list := range lists {
			for _, p := range list {
				n := normalize(p)
				if n == "" || n != strings.TrimSpace(n) {
					t.Errorf("%s: phrase %q normalizes to %q", tab.Reason, p, n)
					continue
				}
				if prev, dup := seen[n]; dup {
					t.Errorf("phrase %q is in the tables of %s and %s", p, prev, tab.Reason)
				}
				seen[n] = tab.Reason
				ms := matcher.scan([]byte(n), patterns)
				set := ms.strong
				if li == 2 {
					set = ms.weak
				}
				if set&bitOf(tab.Reason) == 0 {
					t.Errorf("%s: phrase %q does not match itself", tab.Reason, p)
				}
			}
		}
	}
	if len(reasonPrecedence) != len(phraseTables) {
		t.Errorf("%d reasons have a precedence, %d have phrase tables", len(reasonPrecedence), len(phraseTables))
	}
}

func TestHugeDiagnostic(t *testing.T) {
	// The reason stands in the first bytes; megabytes of filler follow.
	diag := "550 5.1.1 User unknown " + strings.Repeat("x", 8<<20)
	if c := Classify(failed("5.0.0", 0, diag)); c.Reason != ReasonUserUnknown {
		t.Errorf("huge diagnostic: got %s", c.Reason)
	}
	// Words beyond the bound are not read.
	diag = strings.Repeat("x ", maxDiagnostic) + "blocked using zen.spamhaus.org"
	if c := Classify(failed("5.0.0", 550, diag)); c.Reason == ReasonBlocklisted {
		t.Errorf("read past the %d byte bound", maxDiagnostic)
	}
}

func TestWordPhrasesNeedBoundaries(t *testing.T) {
	// "spam" is a word entry: it must not match inside "spamhaus" on its own
	// (that is a blocklist), nor "rbl" inside "herbly".
	if c := Classify(failed("5.0.0", 550, "550 see spamhausish")); c.Reason == ReasonSpamContent {
		t.Errorf("\"spam\" matched inside a word: %s", c.Reason)
	}
	if c := Classify(failed("5.0.0", 550, "550 herbly")); c.Reason == ReasonBlocklisted {
		t.Errorf("\"rbl\" matched inside a word")
	}
	if c := Classify(failed("5.0.0", 550, "550 listed in an RBL.")); c.Reason != ReasonBlocklisted {
		t.Errorf("\"RBL.\" not matched as a word: %s", c.Reason)
	}
}

func TestFindReplyInServerText(t *testing.T) {
	for _, tc := range []struct {
		text   string
		status string
		reply  int
	}{
		{"550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1 https://x", "5.1.1", 550},
		{"5.1.0 - Unknown address error 550-'5.2.2 <k@example.jp>... Mailbox Full'", "5.2.2", 550},
		{"host mx.example.org[192.0.2.25] said: 554 4.4.7 Message expired", "4.4.7", 554},
		{"Sorry, no mailbox here by that name. (#5.1.1)", "5.1.1", 0},
		{"550 #5.1.0 Address rejected.", "5.1.0", 550},
		{"Remote host 192.0.2.25 said 4.16.55.1 hello", "", 0},
		{"connect to 192.0.2.5[192.0.2.5]:25: Connection refused", "", 0},
		{"452 4.2.2 Mailbox full", "4.2.2", 452},
		{"Yahoo: 550: 5.1.1 <u@example.com>... User Unknown", "5.1.1", 550},
		{"421 Service not available", "", 421},
		{"", "", 0},
	} {
		rc, st := findReply(tc.text)
		if st != tc.status || rc != tc.reply {
			t.Errorf("findReply(%q) = %d, %q; want %d, %q", tc.text, rc, st, tc.reply, tc.status)
		}
	}
}

func TestResolveCodes(t *testing.T) {
	for _, tc := range []struct {
		ev     Evidence
		status string
		reply  int
	}{
		{failed("5.0.0", 550, "550 5.1.1 <x@example.org>: User unknown"), "5.1.1", 550},
		{failed("5.0.0", 0, "host mx said: 554 5.7.1 blocked"), "5.7.1", 554},
		{failed("5.0.0", 550, "550 User unknown"), "5.0.0", 550},
		{failed("5.1.1", 0, "550 5.7.1 blocked"), "5.1.1", 550},
		{failed("bogus", 0, "no codes here"), "", 0},
		{failed(" 4.4.7 (expired)", 0, ""), "4.4.7", 0},
		{failed("", 0, "Sorry, no mailbox here by that name. (#5.1.1)"), "5.1.1", 0},
	} {
		st, rc := ResolveCodes(tc.ev)
		if st != tc.status || rc != tc.reply {
			t.Errorf("ResolveCodes(%q, %q, %d) = %q, %d; want %q, %d", tc.ev.Status, tc.ev.Diagnostic, tc.ev.SMTPCode, st, rc, tc.status, tc.reply)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking",
			"the email account that you tried to reach does not exist. please try double-checking"},
		{"550 5.1.1 <spam@example.org>: User  unknown\r\n in table", "user unknown in table"},
		{"after MAIL FROM:<a@example.com> SIZE=10: 553 bad", "after mail from: | size=10: bad"},
		{"Der Empfänger EXISTIERT nicht, doesn’t", "der empfänger existiert nicht, doesn't"},
		{"  \t ", ""},
	} {
		if got := normalize(tc.in); got != tc.want {
			t.Errorf("normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestInferStatus(t *testing.T) {
	for _, r := range Reasons() {
		for _, code := range []int{0, 250, 450, 550} {
			st := InferStatus(ClassificationOf(r), code)
			if st == "" {
				if r != ReasonUnknown || code != 0 {
					t.Errorf("InferStatus(%s, %d) = \"\"", r, code)
				}
				continue
			}
			if cleanStatus(st) != st {
				t.Errorf("InferStatus(%s, %d) = %q: not a status code", r, code, st)
			}
			if _, ok := lookupStatus(st); !ok {
				t.Errorf("InferStatus(%s, %d) = %q: not a registered code", r, code, st)
			}
		}
	}
	for _, tc := range []struct {
		r    Reason
		code int
		want string
	}{
		{ReasonUserUnknown, 550, "5.1.1"},
		{ReasonUserUnknown, 450, "4.1.1"},
		{ReasonUserUnknown, 0, "5.1.1"},
		{ReasonMailboxFull, 452, "4.2.2"},
		{ReasonMailboxFull, 0, "5.2.2"},
		{ReasonHostUnknown, 0, "5.1.2"},
		{ReasonAuthFailure, 550, "5.7.26"},
		{ReasonGreylisted, 0, "4.7.1"},
		{ReasonExpired, 0, "4.4.7"},
		{ReasonMessageTooLarge, 552, "5.3.4"},
		{ReasonUnknown, 550, "5.0.0"},
		{ReasonUnknown, 0, ""},
		{ReasonDelivered, 0, "2.0.0"},
	} {
		if got := InferStatus(ClassificationOf(tc.r), tc.code); got != tc.want {
			t.Errorf("InferStatus(%s, %d) = %q, want %q", tc.r, tc.code, got, tc.want)
		}
	}
}

// designTable is the DESIGN.md reason table, as written there.
var designTable = []struct {
	reason    Reason
	scope     Scope
	permanent bool
	verdict   Verdict
}{
	{ReasonUserUnknown, ScopeRecipient, true, VerdictSuppress},
	{ReasonMailboxDisabled, ScopeRecipient, true, VerdictSuppress},
	{ReasonHostUnknown, ScopeRecipient, true, VerdictSuppress},
	{ReasonBadRecipientSyntax, ScopeRecipient, true, VerdictSuppress},
	{ReasonMailboxFull, ScopeRecipient, false, VerdictSoft},
	{ReasonComplaint, ScopeRecipient, true, VerdictSuppress},
	{ReasonAuthFailure, ScopeSender, true, VerdictAlert},
	{ReasonBlocklisted, ScopeSender, true, VerdictAlert},
	{ReasonSpamContent, ScopeSender, true, VerdictAlert},
	{ReasonPolicyRejected, ScopeSender, true, VerdictAlert},
	{ReasonBadSenderAddress, ScopeSender, true, VerdictAlert},
	{ReasonRelayDenied, ScopeSender, true, VerdictAlert},
	{ReasonMessageTooLarge, ScopeSender, true, VerdictAlert},
	{ReasonVirus, ScopeSender, true, VerdictAlert},
	{ReasonRateLimited, ScopeSender, false, VerdictAlert},
	{ReasonGreylisted, ScopeTransient, false, VerdictSoft},
	{ReasonServerError, ScopeTransient, false, VerdictSoft},
	{ReasonNetworkError, ScopeTransient, false, VerdictSoft},
	{ReasonExpired, ScopeTransient, false, VerdictSoft},
	{ReasonDelayed, ScopeTransient, false, VerdictSoft},
	{ReasonAutoReply, ScopeNone, false, VerdictIgnore},
	{ReasonDelivered, ScopeNone, false, VerdictIgnore},
	{ReasonUnknown, ScopeNone, false, VerdictIgnore},
}

func TestReasonTableMatchesDesign(t *testing.T) {
	rs := Reasons()
	if len(rs) != len(designTable) {
		t.Fatalf("Reasons() has %d entries, DESIGN.md %d", len(rs), len(designTable))
	}
	for i, d := range designTable {
		if rs[i] != d.reason {
			t.Errorf("Reasons()[%d] = %s, want %s (DESIGN.md order)", i, rs[i], d.reason)
		}
		c := ClassificationOf(d.reason)
		want := Classification{Reason: d.reason, Scope: d.scope, Permanent: d.permanent, Verdict: d.verdict}
		if c != want {
			t.Errorf("ClassificationOf(%s) = %+v, want %+v", d.reason, c, want)
		}
		if r, ok := ParseReason(strings.ToUpper(string(d.reason))); !ok || r != d.reason {
			t.Errorf("ParseReason(%q) = %q, %v", strings.ToUpper(string(d.reason)), r, ok)
		}
	}
	if _, ok := ParseReason("no_such_reason"); ok {
		t.Error("ParseReason accepted an unknown reason")
	}
	if c := ClassificationOf("bogus"); c.Reason != ReasonUnknown || c.Verdict != VerdictIgnore {
		t.Errorf("ClassificationOf(bogus) = %+v", c)
	}
}

func TestEveryReasonReachable(t *testing.T) {
	// Each reason is produced by at least one classify case: the table is
	// not dead weight.
	got := map[Reason]bool{}
	for _, tc := range classifyCases {
		got[tc.reason] = true
	}
	for _, r := range Reasons() {
		if !got[r] {
			t.Errorf("no classify case yields %s", r)
		}
	}
}

var benchEvidence = []Evidence{
	failed("5.1.1", 550, "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. 550 5.1.1 https://support.example.com/mail/?p=NoSuchUser a1si2 - gsmtp"),
	failed("5.0.0", 554, "554 5.7.1 <x@example.org>: Recipient address rejected: Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"),
	failed("4.4.1", 0, "connect to mx.example.com[192.0.2.2]:25: Connection timed out"),
	nonStandard("550 5.2.2 <kijitora@example.jp>... Mailbox Full"),
}

func BenchmarkClassify(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Classify(benchEvidence[i%len(benchEvidence)])
	}
}

// TestTrapWordsDoNotSuppress: words that occur in recipient-side phrases
// ("inactive", "terminated", "no longer valid", "doesn't have a") also occur
// in texts about connections, certificates and headers. Those must not
// remove anyone.
func TestTrapWordsDoNotSuppress(t *testing.T) {
	for _, ev := range []Evidence{
		nonStandard("421 4.4.2 Connection inactive for too long, closing"),
		failed("5.6.0", 550, "550 5.6.0 Your message doesn't have a Message-ID header"),
		failed("4.7.0", 451, "451 4.7.0 TLS certificate is no longer valid"),
		failed("5.7.1", 554, "554 5.7.1 Message rejected by policy, see https://support.proofpoint.example/"),
		nonStandard("421 Service temporarily unavailable; connection terminated"),
		failed("4.2.1", 450, "450 4.2.1 Mailbox temporarily disabled"),
		nonStandard("delivery temporarily suspended: connect to mx.example.org[192.0.2.1]:25: Connection timed out"),
		failed("5.0.0", 550, "550 Message has moved to quarantine"),
		nonStandard("X-Virus-Scanned: clamav at mx.example.org; Return-Path: <bounces@example.com>"),
		failed("5.7.1", 550, "550 5.7.1 <x@example.org>: Recipient address rejected: your message is not welcome here"),
		failed("4.1.1", 450, "450 4.1.1 <x@example.org>: Recipient address rejected: unverified address: Address verification in progress"),
		failed("4.0.0", 0, "DNS Error: DNS type 'mx' lookup of example.com responded with code SERVFAIL"),
		failed("4.4.4", 0, "Name service error for name=example.com type=MX: Host not found, try again"),
		nonStandard("550 Doména odesílatele neexistuje"),                       // Czech: the sender's domain does not exist
		nonStandard("550 Domena nadawcy nie istnieje"),                         // Polish: the same
		failed("4.2.2", 452, "452 4.2.2 La coda è piena, riprovare più tardi"), // Italian: the queue is full
	} {
		if c := Classify(ev); c.Verdict == VerdictSuppress {
			t.Errorf("Classify(%q, %s) = %s: suppresses", ev.Diagnostic, ev.Status, c.Reason)
		}
	}
}

// TestBoilerplateSaysNothing: the fixed sentences MTAs wrap around the
// server's words (written here in their style) must not classify by
// themselves, so that a parser that passes a little too much text does not
// change the reason.
func TestBoilerplateSaysNothing(t *testing.T) {
	for _, text := range []string{
		"This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:",
		"This is the mail system at host mail.example.com.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients. It's attached below.\n\nFor further assistance, please send mail to postmaster.\n\nIf you do so, please include this problem report. You can\ndelete your own text from the attached returned message.\n\n                   The mail system",
		"The original message was received at Thu, 1 Jan 2026 10:00:00 +0100\nfrom localhost [127.0.0.1]\n\n   ----- The following addresses had permanent fatal errors -----",
		"Hi. This is the qmail-send program at mx.example.org.\nI'm afraid I wasn't able to deliver your message to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.",
		"Delivery to the following recipient failed permanently:",
		"Delivery has failed to these recipients or groups:",
		"Your message did not reach some or all of the intended recipients.",
		"Sorry, we were unable to deliver your message to the following address.",
		"Hi! This is the MAILER-DAEMON, please DO NOT REPLY to this email.\n\nAn error has occurred while attempting to deliver a message for\nthe following list of recipients:",
		"Your message could not be delivered. Original message follows. Subject: Newsletter X-Virus-Scanned: clamav",
		"Dies ist eine automatisch erstellte Nachricht. Ihre Nachricht konnte nicht zugestellt werden.",
		"Ceci est un message automatique. Votre message n'a pas pu être remis.",
	} {
		if c := Classify(nonStandard(text)); c.Reason != ReasonUnknown {
			t.Errorf("boilerplate classified as %s: %q", c.Reason, text)
		}
	}
}

// TestVaguePermanentFailureIsSoft: a permanent failure that names no cause
// keeps reason unknown with verdict soft on every path (DESIGN.md,
// Verdicts); anything that is not a failure stays ignored.
func TestVaguePermanentFailureIsSoft(t *testing.T) {
	for _, ev := range []Evidence{
		{Kind: KindNonStandard, Action: ActionFailed, Diagnostic: "Delivery to the following recipients failed."},
		{Kind: KindDSN, Action: ActionFailed, Status: "5.0.0", SMTPCode: 550, Diagnostic: "550 Your message could not be delivered"},
		{Kind: KindDSN, Action: ActionFailed},
		{Kind: KindDSN, Status: "5.0.0"},
		{Kind: KindNonStandard, Diagnostic: "550 permanent error"},
	} {
		if c := Classify(ev); c.Reason != ReasonUnknown || c.Verdict != VerdictSoft {
			t.Errorf("Classify(%+v) = %+v, want unknown/soft", ev, c)
		}
	}
	for _, ev := range []Evidence{
		{Kind: KindARF, FeedbackType: "not-spam"},
		{Kind: KindDSN, Action: ActionDelivered, Status: "2.0.0"},
		{Kind: KindNonStandard, Diagnostic: "hello"},
	} {
		if c := Classify(ev); c.Verdict != VerdictIgnore {
			t.Errorf("Classify(%+v) = %+v, want ignore", ev, c)
		}
	}
}
