"""Signs real-shaped provider webhooks with the providers' own code, posts them to a
running sentlog (see .ci/webhook-check for its configuration), and checks the results
with grpcurl. Argument: the work directory (venv, SendGrid key)."""
import base64, hashlib, hmac, json, subprocess, sys, time, urllib.error, urllib.parse, urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid import EventWebhook, EventWebhookHeader
from twilio.request_validator import RequestValidator

WORK = sys.argv[1]
GRPCURL = f"{WORK}/venv/bin/grpcurl"
GRPC = "127.0.0.1:50197"
HOOKS = "http://127.0.0.1:18097"
PUBLIC_URL = "https://hooks.example.test/webhooks/twilio"
ACCOUNT = "ACci0000000000000000000000000000"
TOKEN = "ci-twilio-auth-token"
APP_SECRET = b"ci-meta-app-secret"
SG_KEY = serialization.load_pem_private_key(open(f"{WORK}/sendgrid.pem", "rb").read(), None)
SG_PUBLIC = open(f"{WORK}/sendgrid.pub").read().strip()


def grpc(method, body):
    out = subprocess.run([GRPCURL, "-plaintext", "-d", json.dumps(body), GRPC, method],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def post(path, body: bytes, headers):
    req = urllib.request.Request(HOOKS + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def twilio(params, token=TOKEN):
    """A status callback signed by twilio-python's RequestValidator over the public URL."""
    validator = RequestValidator(token)
    signature = validator.compute_signature(PUBLIC_URL, params)
    assert validator.validate(PUBLIC_URL, params, signature)
    return post("/webhooks/twilio", urllib.parse.urlencode(params).encode(),
                {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})


def twilio_params(sid, status, error=None):
    p = {"SmsSid": sid, "SmsStatus": status, "MessageStatus": status, "To": "+33612345678",
         "MessageSid": sid, "AccountSid": ACCOUNT, "From": "+15017122661", "ApiVersion": "2010-04-01"}
    if error:
        p["ErrorCode"] = error
    return p


def whatsapp(payload, secret=APP_SECRET, tamper=None):
    """X-Hub-Signature-256 exactly as Meta documents it: sha256= hex HMAC of the raw body."""
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    if tamper:
        body = tamper(body)
    return post("/webhooks/whatsapp", body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature})


def whatsapp_payload(statuses):
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "statuses": statuses}}]}]}


def wa_status(wamid, status, ts, **extra):
    s = {"id": wamid, "status": status, "timestamp": str(ts), "recipient_id": "33612345678"}
    s.update(extra)
    return s


def sendgrid(events, age=0, sign=True):
    """Signed with a P-256 key by `cryptography`; SendGrid's own EventWebhook verifies it."""
    payload = json.dumps(events, separators=(",", ":")) + "\r\n"
    timestamp = str(int(time.time()) - age)
    signature = base64.b64encode(SG_KEY.sign((timestamp + payload).encode(), ec.ECDSA(hashes.SHA256()))).decode()
    helper = EventWebhook()
    assert helper.verify_signature(payload, signature, timestamp, helper.convert_public_key_to_ecdsa(SG_PUBLIC))
    headers = {"Content-Type": "application/json", EventWebhookHeader.TIMESTAMP: timestamp}
    if sign:
        headers[EventWebhookHeader.SIGNATURE] = signature
    return post("/webhooks/sendgrid", payload.encode(), headers)


def sg_event(x_message_id, event, **extra):
    e = {"email": "guest@example.com", "timestamp": int(time.time()) - 30, "smtp-id": f"<{x_message_id}@ismtpd0001p1>",
         "event": event, "sg_event_id": f"ev-{x_message_id}-{event}",
         "sg_message_id": f"{x_message_id}.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"}
    e.update(extra)
    return e


def message(ids, ext):
    return grpc("sentlog.v1.MessageService/GetMessage", {"id": ids[ext]})


def expect(answer, code, outcomes=None):
    """The answer has this HTTP code and, for a 200, these event outcomes."""
    assert answer[0] == code, answer
    if outcomes is not None:
        assert json.loads(answer[1]) == outcomes, answer
    return answer


# An invalid number fails in milliseconds: Twilio's callback comes before RecordMessages.
expect(twilio(twilio_params("SMci00000000000000000000000early", "failed", "21211")), 200, {"parked": 1})

new = lambda ext, channel, provider, pid, **kw: dict(
    hotel_id="ci-wh", external_id=ext, channel=channel, recipient_phone="+33612345678",
    campaign_name="Online check-in", provider=provider, provider_message_id=pid, **kw)
recorded = grpc("sentlog.v1.MessageService/RecordMessages", {"messages": [
    new("early", "CHANNEL_SMS", "twilio", "SMci00000000000000000000000early"),
    new("sms-ok", "CHANNEL_SMS", "twilio", "SMci0000000000000000000000000ok1"),
    new("sms-ko", "CHANNEL_SMS", "twilio", "SMci0000000000000000000000000ko1"),
    new("wa-read", "CHANNEL_WHATSAPP", "whatsapp_cloud", "wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI1"),
    new("wa-ko", "CHANNEL_WHATSAPP", "whatsapp_cloud", "wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI2"),
    new("mail-ok", "CHANNEL_EMAIL", "sendgrid", "LRzXl_NHStOGhQ4kofSm_A", recipient_email="guest@example.com"),
    new("mail-ko", "CHANNEL_EMAIL", "sendgrid", "MTzXl_NHStOGhQ4kofSm_B", recipient_email="bounce@example.com"),
]})["results"]
ids = {ext: r["messageId"] for ext, r in zip(
    ["early", "sms-ok", "sms-ko", "wa-read", "wa-ko", "mail-ok", "mail-ko"], recorded)}

m = message(ids, "early")
assert m["status"] == "MESSAGE_STATUS_FAILED" and m["errorCode"] == "21211", m
history = grpc("sentlog.v1.MessageService/GetMessageHistory", {"message_id": ids["early"]})["events"]
assert any(e["status"] == "MESSAGE_STATUS_FAILED" and e.get("outcome") == "EVENT_OUTCOME_APPLIED" for e in history), history

# Twilio: delivered, and failed with an error code; a retry is a duplicate.
expect(twilio(twilio_params("SMci0000000000000000000000000ok1", "sent")), 200, {"applied": 1})
expect(twilio(twilio_params("SMci0000000000000000000000000ok1", "delivered")), 200, {"applied": 1})
expect(twilio(twilio_params("SMci0000000000000000000000000ko1", "undelivered", "30003")), 200, {"applied": 1})
expect(twilio(twilio_params("SMci0000000000000000000000000ko1", "undelivered", "30003")), 200, {"duplicate": 1})

# WhatsApp: sent, delivered and read in one post; a failure with its error and pricing.
now = int(time.time())
expect(whatsapp(whatsapp_payload([
    wa_status("wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI1", "read", now - 5),
    wa_status("wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI1", "sent", now - 60,
              conversation={"id": "c1", "origin": {"type": "utility"}},
              pricing={"billable": True, "pricing_model": "PMP", "category": "utility"}),
    wa_status("wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI1", "delivered", now - 50),
])), 200, {"applied": 1, "stale": 2})
expect(whatsapp(whatsapp_payload([wa_status(
    "wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI2", "failed", now - 40,
    errors=[{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
             "error_data": {"details": "Message Undeliverable."}}])])), 200, {"applied": 1})

# SendGrid: a delivery and a classified bounce in one batch; a retry under a new sg_event_id.
batch = [sg_event("LRzXl_NHStOGhQ4kofSm_A", "processed"), sg_event("LRzXl_NHStOGhQ4kofSm_A", "delivered", response="250 OK"),
         sg_event("MTzXl_NHStOGhQ4kofSm_B", "bounce", type="bounce", status="5.1.1",
                  reason="550 5.1.1 The email account that you tried to reach does not exist",
                  bounce_classification="Invalid Address"),
         sg_event("LRzXl_NHStOGhQ4kofSm_A", "open", useragent="Mozilla/5.0")]
expect(sendgrid(batch), 200, {"acknowledged": 1, "applied": 3})
retry = dict(batch[1], sg_event_id="a-new-id-on-retry")
expect(sendgrid([retry]), 200, {"duplicate": 1})

# Refused, with nothing applied: another token, a tampered body, a stale or missing signature.
assert twilio(twilio_params("SMci0000000000000000000000000ko1", "delivered"), token="not-the-token")[0] == 403
assert whatsapp(whatsapp_payload([wa_status("wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI2", "failed", now)]),
                tamper=lambda b: b.replace(b'"failed"', b'"read"'))[0] == 403
assert sendgrid([sg_event("MTzXl_NHStOGhQ4kofSm_B", "delivered")], age=600)[0] == 403
assert sendgrid([sg_event("MTzXl_NHStOGhQ4kofSm_B", "delivered")], sign=False)[0] == 401

# The WhatsApp subscription handshake.
q = urllib.parse.urlencode({"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "ci-verify-token"})
with urllib.request.urlopen(f"{HOOKS}/webhooks/whatsapp?{q}") as r:
    assert r.status == 200 and r.read() == b"1158201444"

expected = {
    "sms-ok": ("MESSAGE_STATUS_DELIVERED", None, None),
    "sms-ko": ("MESSAGE_STATUS_UNDELIVERED", "30003", "ERROR_CATEGORY_UNREACHABLE"),
    "wa-read": ("MESSAGE_STATUS_READ", None, None),
    "wa-ko": ("MESSAGE_STATUS_FAILED", "131026", "ERROR_CATEGORY_NOT_ON_CHANNEL"),
    "mail-ok": ("MESSAGE_STATUS_DELIVERED", None, None),
    "mail-ko": ("MESSAGE_STATUS_UNDELIVERED", "Invalid Address", "ERROR_CATEGORY_INVALID_ADDRESS"),
}
for ext, (status, code, category) in expected.items():
    m = message(ids, ext)
    assert m["status"] == status, (ext, m)
    if code:
        assert m["errorCode"] == code and m["errorCategory"] == category, (ext, m)
assert message(ids, "wa-read").get("category") == "MESSAGE_CATEGORY_UTILITY", message(ids, "wa-read")
print("webhooks signed by twilio", __import__("twilio").__version__, "and checked by sendgrid",
      __import__("sendgrid").__version__, ": every payload reached its message")
