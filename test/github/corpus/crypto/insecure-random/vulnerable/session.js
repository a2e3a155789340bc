app.post('/login', (req, res) => {
  const sessionId = Math.random().toString(16).substring(2);
  sessions.set(sessionId, req.body.user);
  res.cookie('sid', sessionId);
});
