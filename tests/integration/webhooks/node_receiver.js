// A webhook receiver running the guide's Node.js verification function as written
// ("Webhook Integration" → "Node.js Example"). Express is not available offline, so a
// plain http server hands it what express.raw({ type: 'application/json' }) would: the
// raw body as a Buffer, and the x-webhook-signature header.
// Prints {"listening": port} first, then one JSON line per request.
const http = require('http');

const crypto = require('crypto');

function verifyWebhookSignature(payload, signature, secret) {
  const expectedSignature = crypto
    .createHmac('sha256', secret)
    .update(payload, 'utf8')
    .digest('hex');
  
  const expectedHeader = `sha256=${expectedSignature}`;
  
  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(expectedHeader)
  );
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const signature = req.headers['x-webhook-signature'];
    const payload = Buffer.concat(chunks);
    let verified = false;
    try {
      verified = verifyWebhookSignature(payload, signature, process.env.WEBHOOK_SECRET);
    } catch (error) {
      // The guide's function throws on a missing or differently sized header; the
      // guide's express app would answer 500, this one answers 401 either way.
      verified = false;
    }
    if (!verified) {
      process.stdout.write(JSON.stringify({ verified: false }) + '\n');
      res.writeHead(401);
      res.end('Invalid signature');
      return;
    }
    const event = JSON.parse(payload);
    process.stdout.write(JSON.stringify({ verified: true, event }) + '\n');
    res.writeHead(200);
    res.end('OK');
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ listening: server.address().port }) + '\n');
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
