package dsn

// The phrase knowledge: which words in a server's reply mean which reason.
//
// There is one table per reason. Each table has three lists:
//
//   - Phrases match anywhere in the text (after lower-casing, collapsing white
//     space and dropping SMTP reply and status codes, see normalize).
//   - Words match only as whole words: not preceded or followed by an ASCII
//     letter or digit ("rbl" must not match inside "herbly").
//   - Weak phrases are generic ("rejected", "access denied", "try again
//     later"): they count only when no ordinary phrase of any table matched.
//
// Entries are short and general, the words servers across vendors and
// languages use (English, German, French, Spanish, Portuguese, Italian, Dutch,
// Japanese, Russian, Chinese, Korean, Czech, Polish, Swedish, Danish, Norwegian, Finnish,
// Turkish, Hungarian), never whole vendor sentences tuned to one
// sample. Apostrophes are matched in their ASCII form: normalize folds the
// typographic ones.
//
// When phrases of several tables match, reasonPrecedence decides; see there.

// phraseTable is the phrase knowledge for one reason.
type phraseTable struct {
	Reason  Reason
	Phrases []string
	Words   []string
	Weak    []string
}

// reasonPrecedence orders the reasons whose phrases can match, highest first.
// When the text matches phrases of several tables (and the status code does
// not agree with one of them, see Classify), the first reason here wins.
//
//  1. Sender-side reasons with unmistakable words come first: a text that
//     names a blocklist, DMARC or a virus is about the sender even if it
//     also says "recipient address rejected". This is the safe direction: a
//     wrong alert costs nothing, a wrong suppression removes a good
//     subscriber. Relay denial and viruses are the most literal;
//     authentication beats blocklists ("blocked: SPF fail"); blocklists and
//     reputation beat spam content ("blocked using zen.spamhaus.org").
//  2. Rate limits and bad sender addresses: also sender-side, but their
//     words ("too many", "sender") are less exclusive, so they come after.
//  3. Mailbox full before message size: "mailbox size limit exceeded" is a
//     full mailbox, and mailbox_full is a soft verdict, so erring towards it
//     never removes anyone.
//  4. Recipient-side permanent reasons: disabled before unknown ("account
//     disabled, user unknown" is a disabled account), host before user ("el
//     dominio no existe" is about the domain), then syntax.
//  5. Transient reasons: expiry ("gave up", "retry timeout exceeded") wraps
//     the last error, so every reason above wins over it; network before
//     greylisting before generic server errors.
//  6. Policy last: "policy", "not authorized" say the least.
var reasonPrecedence = []Reason{
	ReasonRelayDenied,
	ReasonVirus,
	ReasonAuthFailure,
	ReasonBlocklisted,
	ReasonSpamContent,
	ReasonRateLimited,
	ReasonBadSenderAddress,
	ReasonMailboxFull,
	ReasonMessageTooLarge,
	ReasonMailboxDisabled,
	ReasonHostUnknown,
	ReasonUserUnknown,
	ReasonBadRecipientSyntax,
	ReasonExpired,
	ReasonNetworkError,
	ReasonGreylisted,
	ReasonServerError,
	ReasonPolicyRejected,
}

// phraseTables holds one table per reason that text can reveal.
var phraseTables = []phraseTable{
	{
		// The recipient's mailbox does not exist (any more).
		Reason: ReasonUserUnknown,
		Phrases: []string{
			// English
			"user unknown", "unknown user", "recipient address rejected: access denied", "unknown recipient", "recipient unknown",
			"no such user", "no such recipient", "no such mailbox", "no such address",
			"no such person", "no such account", "no such local user",
			"user does not exist", "user doesn't exist", "user not exist", "recipient does not exist",
			"recipient not exist", "address does not exist", "mailbox does not exist",
			"account does not exist", "account that you tried to reach does not exist",
			"does not exist here", "user doesn't have a", "does not have an account",
			"user not found", "recipient not found", "mailbox not found", "address not found",
			"account not found", "no mailbox here", "no mailbox by that name",
			"no account by that name", "not a valid mailbox", "not a valid recipient",
			"not a valid user", "invalid recipient", "invalid mailbox", "invalid user",
			"invalid final delivery", "address unknown",
			"unknown mailbox", "unknown local part", "unknown or illegal alias",
			"mailbox unavailable", "mailbox is unavailable", "mailbox not available",
			"recipient not available", "no longer on server", "no longer with",
			"address is no longer valid", "address no longer valid", "account is no longer valid",
			"mailbox is no longer valid", "no longer exists", "mailbox is no longer available",
			"address is no longer available", "account is no longer available",
			"not listed in", "recipient name is not recognized", "recipnotfound",
			"recipientnotfound", "recipient not found by", "address couldn't be found",
			"address could not be found", "user could not be found", "recipient could not be found",
			"undeliverable address", "wasn't found at", "was not found at",
			"bad destination mailbox", "not our user", "not a known user",
			"addressee unknown", "no mail box", "nonexistent user", "non-existent user",
			"nonexistent recipient", "non-existent recipient", "nonexistent address",
			"non-existent address", "non-existent mailbox", "nonexistent mailbox",
			"mailbox has moved", "user has moved", "recipient has moved", "address has moved",
			"user has left", "no longer accepts mail",
			// Words of servers the corpus lacks: "550 5.7.1 No mailbox found",
			// "User not known", "this email address is wrong or no longer
			// valid", "is not an active address", "does not have a final
			// email delivery point" (Exchange), "No valid recipients".
			"no mailbox found", "user not known", "recipient not known", "address not known",
			"mailbox not known", "not known here", "not known at this", "is wrong or no longer valid",
			"address is wrong", "not an active address",
			"final email delivery point", "final delivery point", "no valid recipients",
			// German
			"unbekannt", "existiert nicht", "gibt es nicht", "ungültige adresse",
			"ungueltige adresse", "ungültiger empfänger", "empfänger nicht gefunden",
			"adresse nicht gefunden", "postfach nicht gefunden", "kein postfach",
			"postfach nicht vorhanden", "empfänger nicht vorhanden", "adresse nicht vorhanden",
			"mailbox nicht vorhanden", "benutzer nicht vorhanden",
			// French
			"utilisateur inconnu", "destinataire inconnu", "adresse inconnue",
			"destinataire invalide", "adresse invalide", "n'existe pas", "n existe pas",
			"introuvable", "inexistant",
			// Spanish, Portuguese, Italian
			"usuario desconocido", "no existe", "destinatario desconocido",
			"destinatario no válido", "direccion invalida", "dirección inválida",
			"usuário desconhecido", "utilizador desconhecido", "não existe", "nao existe",
			"inexistente", "destinatário inválido", "utente sconosciuto", "utente inesistente",
			"casella inesistente", "indirizzo inesistente",
			"destinatario sconosciuto", "non esiste", "indirizzo non valido",
			"nessun utente",
			// Dutch
			"bestaat niet", "onbekende gebruiker", "onbekende ontvanger",
			// Swedish, Danish, Norwegian, Finnish, Turkish, Hungarian
			"okänd mottagare", "finns inte", "ukendt modtager", "findes ikke",
			"ukjent mottaker", "finnes ikke", "tuntematon vastaanottaja", "ei ole olemassa",
			"kullanıcı bulunamadı", "alıcı bulunamadı", "böyle bir kullanıcı yok",
			"ismeretlen címzett", "nem létezik",
			// Japanese
			"存在しない", "存在しません", "見つかりません", "宛先不明", "ユーザが存在",
			"ユーザーが存在", "アドレスが存在", "不明なユーザ",
			// Russian
			"не существует", "нет такого пользователя", "пользователь не найден",
			"неизвестный пользователь", "адрес не найден", "несуществующ",
			"адресат не найден", "получатель не найден",
			// Chinese
			"用户不存在", "收件人不存在", "地址不存在",
			// Korean ("does not exist", "unknown user"); Naver, Daum
			"존재하지 않", "알 수 없는 사용자",
			// Czech, Polish
			"neexistuje", "neznámý uživatel", "neznámý příjemce", "nie istnieje",
			"nieznany użytkownik", "nieznany adresat",
		},
		Words: []string{"nosuchuser", "userunknown", "badrcptto"},
		Weak: []string{
			"recipient address rejected", "recipient rejected", "rcpt rejected",
			"does not exist", "doesn't exist", "rejected recipient", "address rejected",
			"does not like recipient", "bad recipient", "invalid address", "invalid-recipient",
			"check if address is correct", "check if the address is correct",
			// Trend Micro InterScan MSS reports a recipient the next server
			// refused as "Unable to deliver message to <a> (and other
			// recipients in the same domain)".
			"and other recipients in the same domain",
		},
	},
	{
		// The mailbox exists but is disabled, suspended, locked or inactive.
		Reason: ReasonMailboxDisabled,
		Phrases: []string{
			"account disabled", "account is disabled", "account has been disabled",
			"mailbox disabled", "mailbox is disabled", "mailbox has been disabled",
			"user disabled", "user is disabled", "address disabled", "address is disabled",
			"recipient disabled", "recipient is disabled", "deactivated", "inactive email address",
			"inactive address", "inactive account", "inactive mailbox", "inactive user",
			"inactive recipient", "account is inactive", "mailbox is inactive", "user is inactive",
			"user inactive", "address is inactive",
			// Gmail and Google Workspace: "The email account that you tried
			// to reach is disabled" (or "inactive").
			"tried to reach is disabled", "tried to reach is inactive",
			"account suspended", "account has been suspended", "account is suspended",
			"mailbox suspended", "user suspended", "recipient suspended", "is currently suspended",
			"account has been temporarily suspended", "account is locked", "account locked", "temporary locked",
			"temporarily locked", "mailbox is frozen", "mailbox frozen", "account is blocked",
			"account blocked", "mailbox is blocked", "user is blocked", "recipient is blocked",
			"discontinued", "user is terminated", "account terminated", "account has been terminated",
			"expired account", "account expired", "archived recipient", "no longer active",
			"account not active", "mailbox not active", "user not active", "address not active",
			// A mailbox its owner abandoned: "mail not collected after 30
			// days", "this mailbox has been abandoned".
			"not collected", "not been collected", "uncollected", "been abandoned",
			"is abandoned", "abandoned mailbox", "abandoned account", "mailbox abandoned",
			"account abandoned",
			// German, French, Spanish, Portuguese, Italian
			"postfach ist deaktiviert", "postfach deaktiviert", "konto ist deaktiviert",
			"konto deaktiviert", "adresse ist deaktiviert", "konto gesperrt", "postfach gesperrt",
			"konto inaktiv", "postfach inaktiv", "postfach stillgelegt", "konto stillgelegt",
			"compte désactivé", "compte desactive", "boîte désactivée", "adresse désactivée",
			"compte suspendu", "compte bloqu", "compte du destinataire est bloqu",
			"cuenta desactivada", "cuenta suspendida", "cuenta bloqueada", "cuenta inactiva",
			"buzón desactivado", "conta desativada", "conta suspensa", "conta bloqueada",
			"conta inativa", "caixa desativada", "account disattivato", "casella disattivata",
			"utente disattivato", "account sospeso", "account bloccato",
			// Japanese, Russian, Chinese
			"利用停止", "アカウントが無効", "ящик заблокирован", "аккаунт заблокирован",
			"учетная запись заблокирована", "ящик отключен", "аккаунт отключен",
			"ящик неактивен", "аккаунт неактивен", "已停用", "已冻结", "被冻结",
			// Korean (dormant, deactivated, suspended account), Czech, Polish
			"휴면", "비활성", "계정이 정지", "정지된 계정",
			"účet je zablokován", "schránka je zablokována", "deaktivován",
			"konto zablokowane", "konto jest zablokowane", "konto nieaktywne",
		},
	},
	{
		// The recipient's domain does not exist or accepts no mail.
		Reason: ReasonHostUnknown,
		Phrases: []string{
			"host unknown", "unknown host", "domain not found",
			"domain does not exist", "domain doesn't exist", "no such domain",
			"unknown domain", "domain unknown", "invalid domain", "domain is not reachable", "nxdomain",
			"no mx record", "no mx found", "no mx for", "mx lookup failed",
			"couldn't find a mail exchanger", "could not find a mail exchanger",
			"couldn't find any host", "could not find any host", "no valid mx",
			"null mx", "doesn't receive email", "does not receive email",
			"does not accept mail", "doesn't accept mail", "not accepting mail",
			"unrouteable address", "unroutable address", "unrouteable domain",
			"bad destination system", "host or domain name not found",
			"dns error", "domain name not found", "no route to this domain",
			"infodomainnonexistent", "nonexistentdomain",
			// "domain is not known" over the user table's "is not known";
			// KDDI writes "doesnt" without its apostrophe.
			"domain is not known", "domain not known", "host is not known", "host not known",
			"domain doesnt exist", "domain does not have an mx",
			// RFC 7505 null MX in the words of the MTAs that honour it.
			"no smtp service", "accepts no mail",
			"all relevant mx records point to non-existent hosts",
			"lookup failure: host", // DragonFly dma: "DNS lookup failure: host example.org not found"
			// cPanel's Exim, for an address it cannot route: "The account or
			// domain may not exist, they may be blacklisted, or missing the
			// proper dns entries" (the longer phrase masks "blacklisted").
			"account or domain may not exist, they may be blacklisted",
			// German, French, Spanish, Portuguese, Italian
			"domain existiert nicht", "domain nicht gefunden", "unbekannte domain",
			"domaine inexistant", "domaine inconnu", "domaine introuvable", "hôte introuvable",
			"serveur introuvable", "dominio inexistente",
			"dominio no existe", "domínio inexistente", "dominio inesistente",
			// Japanese, Russian
			"ドメインが存在", "ホストが見つかりません", "домен не найден", "домен не существует",
			// Korean, Czech, Polish: "the domain does not exist" (over the
			// user table's "does not exist")
			"도메인이 존재하지", "존재하지 않는 도메인", "doména neexistuje", "domena nie istnieje",
		},
	},
	{
		// The recipient address is syntactically invalid.
		Reason: ReasonBadRecipientSyntax,
		Phrases: []string{
			"bad recipient address syntax", "recipient address syntax",
			"address syntax", "syntax error in address", "invalid address syntax",
			"not a valid rfc", "malformed address", "malformed recipient",
			"illegal address", "badly formatted address", "invalid recipient address syntax",
			"syntaxe", "syntaxfehler in der adresse",
		},
	},
	{
		// The recipient's mailbox is over its storage quota.
		Reason: ReasonMailboxFull,
		Phrases: []string{
			"mailbox full", "mailbox is full", "mailbox was full", "full mailbox",
			"mailbox size limit", "mailbox exceeds", "mailbox would exceed",
			"inbox is full", "inbox is out of storage", "out of storage space",
			"over quota", "overquota", "quota exceeded", "exceeded quota",
			"exceeds quota", "quota exceed", "exceeded storage allocation",
			"exceeded its storage", "storage quota", "storage allocation",
			"insufficient storage", "not enough space", "not enough storage",
			"disk quota", "user has too many messages", "mailfolder is full",
			"mail box full", "quota violation", "over the quota", "exceeds allowed size",
			"space has been used up", "over its quota", "is over the limit",
			"mailbox exceeded", // Biglobe: "messages in recipient's mailbox exceeded the local limit"
			// Exchange's store driver ("QuotaExceededException"), Courier's
			// "has exceeded his/her disk space limit", WorkMail's storage.
			"quotaexceeded", "disk space limit", "storage limit",
			"mailbox is vol", "postbus is vol", "brevlådan är full", "postkassen er fuld",
			"postkassen er full", "posta kutusu dolu", "postilaatikko on täynnä",
			// German, French, Spanish, Portuguese, Italian, Dutch
			"postfach voll", "postfach ist voll", "speicherplatz", "speicher voll",
			"kontingent überschritten", "quota überschritten",
			"boîte pleine", "boite pleine", "boîte aux lettres pleine",
			"boite du destinataire pleine", "quota dépassé", "quota depasse",
			"buzón lleno", "buzon lleno", "buzón está lleno", "buzon esta lleno", "está lleno", "esta lleno", "cuota excedida",
			"caixa cheia", "caixa postal cheia", "caixa de correio cheia", "está cheia", "cota excedida", "casella piena", "è piena", "quota superata",
			"mailbox vol",
			// Japanese, Russian, Chinese
			"容量超過", "容量を超", "容量がいっぱい", "メールボックスがいっぱい",
			"переполнен", "квота", "邮箱已满", "空间不足",
			// Korean ("capacity exceeded", "mailbox is full"), Czech, Polish
			"용량 초과", "용량이 초과", "용량을 초과", "메일함이 가득",
			"je plná", "plná schránka", "překročena kvóta", "jest pełna",
			"skrzynka pełna", "przepełniona",
		},
	},
	{
		// The sender domain failed SPF, DKIM, DMARC, reverse DNS or SMTP AUTH.
		Reason: ReasonAuthFailure,
		Phrases: []string{
			"dmarc", "dkim", "domainkeys", "sender policy framework",
			"spf check", "spf fail", "spf record", "spf validation", "spf softfail",
			"spf=fail", "spf: fail", "fails to pass spf", "failed spf",
			"sender is unauthenticated", "unauthenticated email", "unauthenticated sender", "not authenticated",
			"authentication check", "authentication checks", "authentication required",
			"authentication results", "authentication failure", "must be authenticated",
			"smtp authentication", "reverse dns", "reverse lookup", "rdns",
			"ptr record", "dns ptr", "no ptr", "ip name lookup failed",
			"mismatches client ip", "invalid ip for sending mail", "not authorized to send",
			"not permitted to send", "is not allowed to send mail from",
			"does not designate", "arc validation", "openspf",
			"authentifizierung", "authentification",
		},
		// ofr_107 (no PTR), ofr_397/398 (SPF), ofr_515 (DMARC), ofr_535 (no
		// DKIM): Orange's published reply codes (postmaster.orange.fr).
		Words: []string{"spf", "ptr", "ofr_107", "ofr_397", "ofr_398", "ofr_515", "ofr_535"},
	},
	{
		// The sending IP or domain is on a blocklist or has poor reputation.
		Reason: ReasonBlocklisted,
		Phrases: []string{
			"blocked using", "blacklisted", "blocklisted", "blacklist", "blocklist",
			"block list", "black list", "denylist", "is listed", "are listed", "been listed",
			"listed at", "listed on", "listed by",
			"spamhaus", "spamcop", "barracudacentral", "barracuda reputation",
			"sorbs", "abuseat", "dnsbl", "dnswl", "senderscore",
			"spam-rbl", "invaluement", "cloudmark", "ipcheck.proofpoint", "mailspike",
			"reputation", "poor reputation", "bad reputation", "low reputation",
			"ip reputation", "sender score", "unsolicited mail", "banned sending ip",
			"sending ip", "dynamic ip", "dial-up",
			"residential", "open relay", "open proxy", "zombie", "botnet",
			"client host rejected", "client host blocked", "blocked -", "ip blocked",
			"host blocked", "server blocked", "ip is blocked", "ip was blocked", "ip has been blocked",
			"ip address is blocked", "ip address has been blocked", "from this ip",
			"refused to talk to me", "not accepting mail from your ip",
			"on our block list", "is on a block list", "blocked by",
			// A block is a listing: "Comcast block for spam", "IP block for
			// spam" name the sender's network, not the message.
			"block for spam",
			"due to user complaints", "user complaints", "abusive",
			"sperrliste", "schwarze liste", "ip-adresse ist gesperrt", "ip-adresse wurde gesperrt",
			"ip gesperrt", "liste noire", "lista negra",
			"черный список", "чёрный список", "ブラックリスト",
		},
		// ofr_988 to ofr_990: Orange's reputation limits.
		Words: []string{"rbl", "rbls", "tss04", "ofr_988", "ofr_989", "ofr_990"},
	},
	{
		// The content was judged to be spam or otherwise unwanted.
		Reason: ReasonSpamContent,
		Phrases: []string{
			"content rejected", "content filter", "content policy",
			"spam detected", "detected as spam", "identified as spam", "considered spam",
			"classified as spam", "scored as spam", "looks like spam", "likely spam",
			"suspected spam", "spam score", "spam message", "spam content", "junk mail",
			"bulk mail", "spam classification", "message is spam", "rejected as spam",
			"rejected due to spam", "blacklisted url", "blocklisted url", "blacklisted link",
			"blocklisted link", "url in message", "phishing",
			"suspicious", "high probability of spam", "as junk", "appears to be unsolicited",
			"unsolicited bulk", "bulk email", "probable spam", "spam-like", "antispam",
			"anti-spam", "spamassassin", "spam filter", "unacceptable content",
			"mail content denied",
			// URI blocklists list the domains of links in message bodies.
			"surbl", "uribl",
			"spamverdacht", "als spam", "pourriel", "indésirable", "correo no deseado",
			"спам", "迷惑メール",
		},
		// ofr_506, ofr_536: Orange's "Mail rejected", suspected spam.
		Words: []string{"spam", "spams", "ube", "uce", "junk", "ofr_506", "ofr_536"},
	},
	{
		// The receiving server does not relay for the sender.
		Reason: ReasonRelayDenied,
		Phrases: []string{
			"relay access denied", "relaying denied", "relay denied", "relay not permitted",
			"relaying not permitted", "not permitted to relay", "relay prohibited",
			"relaying prohibited", "relay not allowed", "relaying not allowed",
			"unable to relay", "cannot relay", "we do not relay", "not configured to relay",
			"insecure mail relay", "relay attempt", "no relaying", "relaying to",
			"not allowed to relay", "relaying mail to", "open relay denied",
			"email address is not verified", "identities failed the check",
			"relay permission", "relais refusé", "relais interdit", "relay nicht erlaubt",
			"relay no permitido",
		},
	},
	{
		// The message is too large for the receiving system.
		Reason: ReasonMessageTooLarge,
		Phrases: []string{
			"message too large", "message too big", "message is too large",
			"message is too big", "message size exceeds", "message size limit",
			"message length exceeds", "size exceeds", "exceeds size limit",
			"exceeds the maximum size", "exceeds maximum message size",
			"maximum message size", "mail size limit", "too large", "too big",
			"size limit exceeded", "line limit exceeded", "line too long",
			"headers too large", "header too large", "message exceeds",
			"nachricht zu groß", "nachricht ist zu groß", "message trop volumineux",
			"mensaje demasiado grande", "mensagem muito grande", "messaggio troppo grande",
			"サイズが大き", "サイズ超過", "слишком большое",
		},
	},
	{
		// A virus or malware was found in the message.
		Reason: ReasonVirus,
		Phrases: []string{
			// Not a bare "virus": X-Virus-Scanned headers are everywhere.
			"virus found", "virus detected", "found a virus", "contains a virus",
			"containing a virus", "a virus", "the virus", "virus infected", "virus-infected",
			"virus alert", "infected", "malware", "trojan", "worm found", "malicious",
			"dangerous attachment", "banned attachment", "prohibited attachment",
			"executable attachment", "ransomware",
			"virus gefunden", "viren gefunden", "schadsoftware", "virus trouvé", "virus détecté",
			"virus encontrado", "vírus encontrado", "virus rilevato", "ウイルス", "вирус",
		},
	},
	{
		// The sender exceeded a rate, volume or connection limit.
		Reason: ReasonRateLimited,
		Phrases: []string{
			"rate limit", "rate-limit", "ratelimit", "rate limited", "too many recipients",
			"too many messages", "too many connections", "too many concurrent",
			"too many mails", "too many emails", "too many sessions", "too many errors",
			"receiving mail at a rate", "sending rate", "sent too many",
			"throttl", "exceeded the rate",
			"unexpected volume", "volume limit", "daily limit", "hourly limit",
			"daily sending quota", "relay quota", "sending quota", "mail flood",
			"slow down", "too fast", "sending limit", "receiving limit", "unusual rate",
			// Limits on how often a client may connect.
			"connection frequency", "connection rate", "connections per", "connection limit",
			"frequency limit", "too frequent", "too often",
			"zu viele", "trop de", "demasiados", "muitas mensagens", "troppi",
			"слишком много",
		},
		// Orange: ofr_104 too many connections, ofr_109 too many messages
		// per connection.
		Words: []string{"ofr_104", "ofr_109"},
	},
	{
		// The envelope sender or From address is rejected.
		Reason: ReasonBadSenderAddress,
		Phrases: []string{
			"sender address rejected", "sender rejected", "sender address invalid",
			"invalid sender", "bad sender", "unknown sender", "sender unknown",
			"sender verify failed", "sender verification failed", "domain of sender",
			"sender domain", "sender's domain", "sender address does not exist",
			"sender is not allowed", "sender not allowed", "sender denied",
			"envelope sender", "return path",
			"from address", "from: header", "from header", "purported responsible address",
			"a valid from", "invalid from",
			"mail from rejected", "rejected sender", "sender mismatch",
			"empty envelope sender", "null sender", "unroutable sender", "sender domain is empty",
			"fully qualified email address required", "not allowed to post",
			"not a member of this", "send mail as", "do not have permission to post",
			"not have permission to post", "may not have permission to post",
			// Google Groups' refusal of a post ("the group you tried to
			// contact may not exist, or you may not have permission to post")
			// is written in the sender's language, and links its help page
			// in every one:
			"groups.google.com/support",
			// "You are not allowed to send here" (mailing lists, groups):
			"pas autorisé", "nicht berechtigt", "keine berechtigung", "no autorizado",
			"no tiene permiso", "no tienes permiso", "não autorizado", "sem permissão",
			"non autorizzato", "権限がない", "権限がありません", "没有权限", "沒有權限",
			"absender", "expéditeur", "émetteur invalide", "emetteur invalide", "remitente",
			"remetente", "mittente", "odesílatel", "nadawc",
			"送信者", "отправител",
		},
	},
	{
		// The message was too long in the queue and the sender gave up.
		Reason: ReasonExpired,
		Phrases: []string{
			"message expired", "delivery time expired", "retry timeout exceeded",
			"retry time exceeded", "too long in the queue", "in the queue too long",
			"in queue too long", "gave up", "giving up",
			"envelope expired", "queue.expired", "expired after",
			"could not be delivered within", "unable to deliver in", "not delivered for",
			"maximum delivery time", "time limit exceeded", "will be retried",
			"exceeded the maximum time", "has been delayed", "delivery has been delayed",
			"failing for a long time", "could not be delivered for", "long failure period",
			// Retries and queue lifetimes: "Delivery failed 20 attempts",
			// "aborted after 5 hour(s)", "not reachable within the allowed
			// queue period".
			// normalize writes a count as "#", so these need a number
			// before them; Amazon SES's "(delivery attempts: 0)" closes
			// every notice and says nothing.
			"# attempts", "# retries", "# delivery attempts", "attempts failed", "unsuccessful attempts",
			"retry limit", "retries exceeded", "maximum number of retries", "aborted after",
			"# hour(s)", "# day(s)", "queue period", "queue lifetime", "not delivered within",
			"zustellung abgebrochen", "abgelaufen", "délai expiré", "expiré",
			"caducado", "expirado", "scaduto",
		},
	},
	{
		// The connection to the receiving server failed.
		Reason: ReasonNetworkError,
		Phrases: []string{
			"connection timed out", "connection timeout", "timed out", "time out",
			"connection refused", "connection reset", "connection dropped",
			"connection closed", "lost connection", "no route to host",
			"network is unreachable", "network unreachable", "host unreachable",
			"host not reachable", "not reachable", "unable to connect",
			"could not connect", "couldn't connect", "failed to connect",
			"wasn't able to establish", "unable to establish", "did not accept our requests to connect",
			"no answer", "not responding", "network error", "routing loop",
			"mail loop", "too many hops", "hop count exceeded", "forwarded more than",
			"loops back to myself", // Postfix: the domain's MX points back at the sender

			"host not found, try again", "name lookup failure", "name server reply", "servfail", "server failure",
			"temporary failure in name resolution", "read error", "write error", "broken pipe", "tls handshake",
			"certificate", "dns lookup failure", "temporary dns",
			"zeitüberschreitung", "verbindung abgebrochen", "verbindung fehlgeschlagen",
			"verbindung abgelehnt", "keine verbindung", "délai d'attente", "connexion refusée",
			"connexion impossible", "tiempo de espera", "conexión rechazada", "conexão recusada",
			"connessione rifiutata", "接続できません", "接続に失敗", "タイムアウト",
			"ошибка соединения", "соединение разорвано", "таймаут",
		},
	},
	{
		// A greylisting server deferred the first attempt.
		Reason: ReasonGreylisted,
		Phrases: []string{
			"greylist", "graylist", "grey-list", "gray-list", "greylisted",
			"grey listed", "gray listed", "greylisting", "postgrey", "graue liste",
		},
		Weak: []string{
			"try again later", "try later", "retry later", "please try again", "please retry",
			"deferred for", "temporarily deferred", "temporarily rejected",
			"réessayer plus tard", "essayer plus tard", "inténtelo más tarde",
			"tente novamente", "riprovare più tardi", "später erneut",
		},
	},
	{
		// The receiving system failed: internal errors, resources, configuration.
		Reason: ReasonServerError,
		Phrases: []string{
			"internal error", "system error", "server error", "mailer error",
			"local error", "temporary failure", "temporary error", "temporary problem",
			"service not available", "service temporarily unavailable",
			"server busy", "system busy", "too busy", "resources temporarily unavailable",
			"insufficient system storage", "insufficient disk space", "no space left on device",
			"disk full", "system full", "configuration error", "misconfigured",
			"file write error", "queue file", // the server's disk, not the network's "write error"
			"improper sequence", "bad sequence of commands", "command not implemented",
			"parameter not implemented", "unable to contact ldap",
			"ldap", "database error", "duplicate", "duplicated", "verification in progress",
			"unverified address",
			"procmail", "couldn't create", "cannot create", "permission denied",
			"mailbox locked", "can't open mailbox", "unable to deliver message after multiple retries",
			"could not load",
			// The receiving system holds the address or the message: an
			// administrative state, no proof that the address is dead.
			"on hold",
			"interner fehler", "erreur interne", "error interno", "erro interno",
			"errore interno", "内部エラー", "внутренняя ошибка",
		},
		// Sendmail closes every 554 transcript with "Service unavailable".
		Weak: []string{"deferred", "unavailable", "service unavailable"},
	},
	{
		// A local policy of the receiving side refused the message.
		Reason: ReasonPolicyRejected,
		Phrases: []string{
			"administrative prohibition", "protocol violation", "helo command rejected", "helo rejected", "invalid helo",
			"tls required", "must use tls", "must issue a starttls", "starttls required",
			"encryption required", "requiretls",
			"content not accepted", "security issue", "security risk",
			// Gmail's "multiple addresses in From: header": the header's
			// format, not the sender's address (masks "from: header").
			"addresses in from: header",
			"service refuse", // La Poste/Orange: "Service refusé", "Service refused, please try later"
			// "mx.example.org is not accepting mail from <list@…>": a
			// refusal of the sender (masks the host table's "not
			// accepting mail").
			"not accepting mail from", "does not accept mail from", "not accept mail from",
			// A block of one address (the recipient blocked the sender, or
			// the reverse) is the receiving side's policy, not a listing
			// of our IP or domain (masks the blocklist table's words).
			"address that has been blacklisted", "address has been blacklisted",
			"address is blacklisted", "address that has been blocklisted",
			"address has been blocklisted", "address is blocklisted", "blacklisted address",
			"blocklisted address", "blacklisted by the recipient", "blocklisted by the recipient",
			"blocked by the recipient", "blocked by recipient",
		},
		// Generic words: a server says "policy" or "not accepted" about
		// anything, so they are the text's catch-all and never overrule a
		// specific status code (see arbitration).
		Weak: []string{
			"policy", "not authorized", "not authorised", "prohibited", "not accepted",
			"delivery not authorized", "forbidden",
			"richtlinie", "politique", "política", "politica", "ポリシー", "политик",
			"message filtered", "filtered", "rejected", "reject", "refused", "refuse", "denied", "access denied", "not allowed",
			"rejete", "rejeté", "refusé", "rechazado", "rejeitado", "abgelehnt",
			"rifiutato", "拒否", "отклонен",
		},
	},
}

// senderStagePhrases say that the server refused before the recipient was
// even named: at the greeting, HELO/EHLO or MAIL FROM. A refusal there is
// about the sender or the connection, never the recipient, whatever words it
// uses ("553 5.1.1 unknown user" after MAIL FROM is the sender's address).
// Exim writes "after MAIL FROM:", Postfix "(in reply to MAIL FROM command)",
// Sendmail transcripts ">>> MAIL From:".
var senderStagePhrases = []string{
	"after mail from", "after pipelined mail from", "in reply to mail from", ">>> mail from",
	"mail from command",
	"after initial connection", "in reply to initial connection", "after connect",
	"after helo", "after ehlo", "in reply to helo", "in reply to ehlo", "helo command",
	"ehlo command", "after starttls",
	"did not like our mail from",
}

// ourSidePhrases say that the problem is the sending side's: our HELO/EHLO
// name, our sending domain, our IP address and its reverse DNS, or the
// header of the message we sent. A reason that would blame the recipient
// is then wrong ("504 5.5.2 my name was rejected: Invalid domain name" is
// our HELO name, not an unknown host; Sendmail's "553 5.1.3 malformed
// address: <a> may not follow <b>" is a badly formed header in the sent
// message, not a bad recipient), and becomes a policy rejection (see
// adjust). Lower case.
var ourSidePhrases = []string{
	"my name", "helo name", "ehlo name", "helo/ehlo", "helo host", "ehlo host",
	"helo hostname", "your helo", "your ehlo", "hostname in helo", "your domain", "sending domain",
	"your sending", "your ip", "your server", "your mail server", "your reverse dns",
	"your ptr", "your mta", "client hostname", "may not follow",
}

// adviceMarkers open the help text servers write after the failure: how to
// fix it (Google Workspace: "To address this issue: … set up SPF records";
// Microsoft: "How to Fix It"). The causes and remedies named there are not
// what happened to this message, so phrases after a marker do not count
// (phraseMatcher.scan). Lower case.
var adviceMarkers = []string{
	"to address this issue", "how to fix it", "how to fix this", "to fix this issue",
	"to resolve this issue", "what you can do", "what should i do", "what can i do",
}

// dataStagePhrases say that the server refused the message after the
// recipient had been accepted: in reply to the end of DATA (Postfix "(in
// reply to end of DATA command)", Exim "after end of data").
var dataStagePhrases = []string{
	"in reply to end of data", "after end of data", "in reply to data command", "after data",
}

// nullMXPhrases say that the recipient's domain publishes that it accepts no
// mail at all (RFC 7505 null MX, RFC 7504 521/556). That is final even when
// the reporting MTA uses a transient code (Gmail writes 4.0.0), unlike a DNS
// lookup that failed and may succeed later.
var nullMXPhrases = []string{
	"null mx", "doesn't receive email", "does not receive email", "does not accept mail",
	"doesn't accept mail", "accepts no mail",
}

// finalPhrases say that the reporting MTA considers the failure permanent,
// whatever (or however little) code it gives: a connection failure reported
// so is a host the MTA gave up on (see adjust).
var finalPhrases = []string{
	"permanent failure", "permanent error", "permanent fatal error", "permanently failed",
	"dauerhafter fehler", "erreur permanente", "error permanente", "erro permanente", "errore permanente",
}

// deliveryCommandPhrases say that a local delivery program, not the SMTP
// server, reported the failure: Postfix's "Command output:", Exim's "pipe to
// |/path", procmail's and maildrop's own messages. Its status is mapped from
// the program's exit code (see adjust).
var deliveryCommandPhrases = []string{
	"command output:", "pipe to |", "procmail:", "maildrop:",
}
