// Resumable uploads for big files (POST /api/uploads): the file goes in chunks
// to the session's upload_url (this app, or Cloud Storage directly), with
// Content-Range, 308 until the last byte. A failed chunk is retried after
// asking where the stored bytes end; the session is remembered (localStorage)
// so "Compress" again, even after a reload, resumes instead of starting over.
// Used by dashboard.js: window.comprimemeloUploads.resumable(file, options).
"use strict";

(() => {
  const RETRIES = 5;
  const RETRY_BASE_MS = 500;
  const STORE_PREFIX = "comprimemelo.upload:";

  function storeKey(file) {
    return `${STORE_PREFIX}${file.name}:${file.size}:${file.lastModified}`;
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  class UploadError extends Error {
    constructor(status, body) {
      super(body?.error?.message || `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  // One request with upload progress (fetch has none); resolves {status, body, headers}.
  function send(method, url, { headers = {}, body = null, onProgress = null } = {}) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open(method, url);
      request.responseType = "text";
      for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
      if (onProgress) {
        request.upload.addEventListener("progress", (event) => onProgress(event.loaded));
      }
      request.addEventListener("load", () => {
        let parsed = null;
        try {
          parsed = request.responseText ? JSON.parse(request.responseText) : null;
        } catch (error) {
          parsed = null; // Cloud Storage answers chunks with an empty or non-JSON body
        }
        resolve({ status: request.status, body: parsed, range: request.getResponseHeader("Range") });
      });
      for (const failure of ["error", "abort", "timeout"]) {
        request.addEventListener(failure, () => reject(new UploadError(0, null)));
      }
      request.send(body);
    });
  }

  function storedBytes(answer, size) {
    if (answer.status === 200 || answer.status === 201) return size;
    if (answer.status !== 308) throw new UploadError(answer.status, answer.body);
    // "bytes=0-LAST"; absent when nothing is stored yet
    return answer.range ? Number(answer.range.split("-").pop()) + 1 : 0;
  }

  function jsonHeaders(csrfToken) {
    return { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken };
  }

  async function openSession(file, { sessionsUrl, csrfToken }) {
    const remembered = localStorage.getItem(storeKey(file));
    if (remembered) {
      const answer = await send("GET", `${sessionsUrl}/${remembered}`, { headers: { Accept: "application/json" } });
      if (answer.status === 200 && answer.body?.state !== "submitted") return answer.body;
      localStorage.removeItem(storeKey(file));
    }
    const answer = await send("POST", sessionsUrl, {
      headers: jsonHeaders(csrfToken),
      body: JSON.stringify({ file_name: file.name, size: file.size, content_type: file.type || undefined }),
    });
    if (answer.status !== 201) throw new UploadError(answer.status, answer.body);
    localStorage.setItem(storeKey(file), answer.body.id);
    return answer.body;
  }

  // Only this app gets the CSRF token; a cross-origin upload_url (Cloud Storage) gets no extra header.
  function chunkHeaders(session, csrfToken) {
    const sameOrigin = new URL(session.upload_url, window.location.href).origin === window.location.origin;
    return sameOrigin ? { "X-CSRF-Token": csrfToken } : {};
  }

  async function askOffset(session, size, headers) {
    const answer = await send("PUT", session.upload_url, { headers: { ...headers, "Content-Range": `bytes */${size}` } });
    return storedBytes(answer, size);
  }

  async function sendChunks(file, session, options) {
    const size = file.size;
    const headers = chunkHeaders(session, options.csrfToken);
    let offset = session.state === "open" ? session.offset : size;
    let failures = 0;
    if (size === 0) offset = await askOffset(session, size, headers);
    while (offset < size) {
      const last = Math.min(offset + session.chunk_bytes, size) - 1;
      const start = offset;
      try {
        const answer = await send("PUT", session.upload_url, {
          headers: { ...headers, "Content-Range": `bytes ${start}-${last}/${size}` },
          body: file.slice(start, last + 1),
          onProgress: (loaded) => options.onProgress((start + loaded) / size),
        });
        if (answer.status === 409 && typeof answer.body?.error?.offset === "number") {
          offset = answer.body.error.offset; // out of step: continue from what is stored
        } else {
          offset = storedBytes(answer, size);
        }
        failures = 0;
      } catch (error) {
        if (error.status >= 400 && error.status < 500 && error.status !== 409) throw error;
        failures += 1;
        if (failures > RETRIES) throw error;
        await sleep(RETRY_BASE_MS * 2 ** (failures - 1));
        try {
          offset = await askOffset(session, size, headers);
        } catch (ignored) {
          // still unreachable: the next attempt's failure counts
        }
      }
      options.onProgress(offset / size);
    }
  }

  // Upload ``file`` and make a task of it. Resolves {status, body} like the
  // multipart upload's answer: 201 with the task, or the error's status and body.
  async function resumable(file, options) {
    try {
      const session = await openSession(file, options);
      options.onProgress(session.offset / Math.max(file.size, 1));
      await sendChunks(file, session, options);
      options.onUploaded();
      // The same fields as a multipart upload: a level or preset name, the password, the retention.
      const body = { new_format: options.format };
      if (options.level) body.level = options.level;
      if (options.password) body.password = options.password;
      if (options.retentionHours) body.retention_hours = options.retentionHours;
      const answer = await send("POST", `${options.sessionsUrl}/${session.id}/complete`, {
        headers: jsonHeaders(options.csrfToken),
        body: JSON.stringify(body),
      });
      if (answer.status === 201 || answer.status === 400 || answer.status === 413) {
        localStorage.removeItem(storeKey(file));
      }
      return { status: answer.status, body: answer.body, resumable: false };
    } catch (error) {
      if (error.status === 404) localStorage.removeItem(storeKey(file));
      return { status: error.status || 0, body: error.body || null, resumable: !error.status || error.status >= 500 };
    }
  }

  window.comprimemeloUploads = { resumable };
})();
