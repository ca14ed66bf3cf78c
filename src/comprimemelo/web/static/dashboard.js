// The dashboard: uploads with progress, live task statuses, deletion.
// Plain JavaScript, no dependencies; the page works from the REST API with the
// session cookie, sending the CSRF token on every state-changing request.
"use strict";

(() => {
  const root = document.querySelector("[data-dashboard]");
  if (!root) return;

  const ACTIVE_STATUSES = new Set(["uploaded", "processing"]);
  const UPLOAD_CONCURRENCY = 2;
  const POLL_BACKOFF_MS = 5000;
  const RELATIVE_TIME_REFRESH_MS = 30000;
  const TOAST_MS = 4000;

  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const maxUploadBytes = Number(root.dataset.maxUploadBytes);
  const pollIntervalMs = Number(root.dataset.pollIntervalMs) || 1000;
  const tasksUrl = root.dataset.tasksUrl;
  const uploadUrl = root.dataset.uploadUrl;
  const sessionsUrl = root.dataset.resumableUrl;
  const maxResumableBytes = Number(root.dataset.maxResumableBytes) || maxUploadBytes;
  const loginUrl = root.dataset.loginUrl;

  const form = document.getElementById("upload-form");
  const fileInput = document.getElementById("file-input");
  const dropzone = document.getElementById("dropzone");
  const formatSelect = document.getElementById("format");
  const levelInput = document.getElementById("level");
  const levelHint = document.getElementById("level-hint");
  const uploadButton = document.getElementById("upload-button");
  const uploadList = document.getElementById("uploads");
  const rows = document.getElementById("task-rows");
  const tasksWrap = document.getElementById("tasks-wrap");
  const emptyState = document.getElementById("empty-state");
  const taskCount = document.getElementById("task-count");
  const dialog = document.getElementById("delete-dialog");
  const deleteName = document.getElementById("delete-name");
  const toasts = document.getElementById("toasts");

  // --- formatting (the same wording as the server's template filters) ---

  function fileSize(size) {
    if (size === null || size === undefined) return "—";
    if (size < 1000) return `${size} B`;
    let value = size;
    for (const unit of ["KB", "MB", "GB", "TB"]) {
      value /= 1000;
      if (value < 1000 || unit === "TB") {
        return `${value < 100 ? value.toFixed(1) : value.toFixed(0)} ${unit}`;
      }
    }
    return `${size} B`;
  }

  function saving(task) {
    if (task.size_compressed === null || !task.size_original) return "";
    const change = Math.round(((task.size_compressed - task.size_original) * 100) / task.size_original);
    return change < 0 ? `−${-change}%` : `+${change}%`;
  }

  const relative = new Intl.RelativeTimeFormat("en", { numeric: "always" });

  function relativeTime(iso) {
    const seconds = (Date.now() - Date.parse(iso)) / 1000;
    if (seconds < 45) return "just now";
    for (const [unit, size] of [["day", 86400], ["hour", 3600], ["minute", 60]]) {
      if (seconds >= size) return relative.format(-Math.round(seconds / size), unit);
    }
    return relative.format(-1, "minute");
  }

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === false || value === null || value === undefined) continue;
      if (name === "className") node.className = value;
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined && child !== "") node.append(child);
    }
    return node;
  }

  function hidden(text) {
    return el("span", { className: "visually-hidden" }, text);
  }

  function toast(message, kind = "info") {
    const node = el("div", { className: `toast toast--${kind}` }, message);
    toasts.append(node);
    setTimeout(() => node.remove(), TOAST_MS);
  }

  // --- the task table ---

  function renderRow(task) {
    const fileCell = el(
      "td",
      { className: "task__file", "data-label": "File" },
      el("span", { className: "task__name", title: task.filename }, task.filename),
      task.status === "failed" && task.error ? el("span", { className: "task__error" }, task.error) : null,
    );
    const formatCell = el(
      "td",
      { "data-label": "Format" },
      el("span", { className: "format" }, task.new_format),
      task.level !== null ? " " : null,
      task.level !== null ? el("span", { className: "level", title: "compression level" }, `L${task.level}`) : null,
    );
    const saved = saving(task);
    const savedCell = el(
      "td",
      { className: "num", "data-label": "Saved" },
      saved ? el("span", { className: saved.startsWith("+") ? "saving saving--worse" : "saving" }, saved) : "—",
    );
    const finishedCell = el(
      "td",
      { "data-label": "Finished" },
      task.processed_at
        ? el("time", { datetime: task.processed_at, title: task.processed_at }, relativeTime(task.processed_at))
        : el("span", { className: "muted" }, "—"),
    );
    const actions = el(
      "td",
      { className: "task__actions", "data-label": "Actions" },
      el("a", { className: "button button--small button--ghost", href: task.original_url, download: true },
        "Original", hidden(` of ${task.filename}`)),
      task.compressed_url
        ? el("a", { className: "button button--small button--accent", href: task.compressed_url, download: true,
          "data-action": "download-archive" }, "Archive", hidden(` of ${task.filename}`))
        : null,
      el("button", { type: "button", className: "button button--small button--danger-ghost", "data-action": "delete" },
        "Delete", hidden(` ${task.filename}`)),
    );
    return el(
      "tr",
      { className: "task", "data-task-id": String(task.id), "data-status": task.status },
      fileCell,
      formatCell,
      el("td", { className: "num", "data-label": "Original" }, fileSize(task.size_original)),
      el("td", { className: "num", "data-label": "Compressed" }, fileSize(task.size_compressed)),
      savedCell,
      el("td", { "data-label": "Status" }, el("span", { className: `badge badge--${task.status}` }, task.status)),
      finishedCell,
      actions,
    );
  }

  function refreshSummary() {
    const count = rows.children.length;
    taskCount.textContent = `${count} task${count === 1 ? "" : "s"}`;
    emptyState.hidden = count > 0;
    tasksWrap.hidden = count === 0;
  }

  function replaceRow(row, task) {
    const focused = row.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    const fresh = renderRow(task);
    row.replaceWith(fresh);
    if (focused) fresh.querySelector(`[data-action="${focused}"]`)?.focus();
    return fresh;
  }

  // Bring the table in line with ``tasks`` (newest first): rows whose status
  // did not change are kept as they are, so focus and hover survive a poll.
  function applyTasks(tasks) {
    const existing = new Map([...rows.children].map((row) => [row.dataset.taskId, row]));
    let previous = null;
    for (const task of tasks) {
      const id = String(task.id);
      let row = existing.get(id);
      existing.delete(id);
      if (!row) {
        row = renderRow(task);
        row.classList.add("task--new");
      } else if (row.dataset.status !== task.status) {
        row = replaceRow(row, task);
      }
      const wanted = previous ? previous.nextElementSibling : rows.firstElementChild;
      if (wanted !== row) rows.insertBefore(row, wanted);
      previous = row;
    }
    for (const row of existing.values()) row.remove();
    refreshSummary();
  }

  function addTask(task) {
    if (rows.querySelector(`tr[data-task-id="${task.id}"]`)) return;
    const row = renderRow(task);
    row.classList.add("task--new");
    rows.prepend(row);
    refreshSummary();
  }

  // --- live statuses: poll while any task is still on its way ---

  let pollTimer = null;
  let localChanges = 0; // bumped by uploads and deletions: older poll answers are stale

  function needsPolling() {
    return [...rows.children].some((row) => ACTIVE_STATUSES.has(row.dataset.status));
  }

  function schedulePoll(delay = pollIntervalMs) {
    if (pollTimer === null && needsPolling()) pollTimer = setTimeout(poll, delay);
  }

  async function poll() {
    const changesBefore = localChanges;
    let delay = pollIntervalMs;
    try {
      const response = await fetch(tasksUrl, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      if (response.status === 401) {
        window.location.assign(loginUrl);
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const tasks = await response.json();
      if (changesBefore === localChanges) applyTasks(tasks);
      else delay = 0;
    } catch (error) {
      delay = POLL_BACKOFF_MS;
    } finally {
      pollTimer = null;
    }
    schedulePoll(delay);
  }

  setInterval(() => {
    for (const time of rows.querySelectorAll("time[datetime]")) {
      time.textContent = relativeTime(time.getAttribute("datetime"));
    }
  }, RELATIVE_TIME_REFRESH_MS);

  // --- deletion, confirmed in a dialog ---

  let pendingDelete = null;

  rows.addEventListener("click", (event) => {
    const button = event.target.closest('button[data-action="delete"]');
    if (!button) return;
    pendingDelete = button.closest("tr");
    deleteName.textContent = pendingDelete.querySelector(".task__name").textContent;
    dialog.returnValue = "";
    dialog.showModal();
  });

  dialog.addEventListener("close", () => {
    const row = pendingDelete;
    pendingDelete = null;
    if (!row) return;
    if (dialog.returnValue === "delete") deleteTask(row);
    else row.querySelector('button[data-action="delete"]')?.focus();
  });

  async function deleteTask(row) {
    const name = row.querySelector(".task__name").textContent;
    const neighbour = row.nextElementSibling || row.previousElementSibling;
    try {
      const response = await fetch(`${uploadUrl}/${row.dataset.taskId}`, {
        method: "DELETE",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrfToken, Accept: "application/json" },
      });
      if (response.status === 401) {
        window.location.assign(loginUrl);
        return;
      }
      if (response.status !== 204 && response.status !== 404) {
        toast(await errorMessage(response), "error");
        return;
      }
    } catch (error) {
      toast("Could not reach the server; the task was not deleted.", "error");
      return;
    }
    localChanges += 1;
    row.remove();
    refreshSummary();
    toast(`Deleted ${name}.`);
    (neighbour?.querySelector('button[data-action="delete"]') || document.getElementById("tasks-title")).focus();
  }

  async function errorMessage(response) {
    try {
      const body = await response.json();
      if (body?.error?.message) return sentence(body.error.message);
    } catch (error) {
      // not JSON: fall through to the status line
    }
    return `The server answered ${response.status} ${response.statusText}.`;
  }

  function sentence(text) {
    const trimmed = text.trim();
    return trimmed.charAt(0).toUpperCase() + trimmed.slice(1) + (trimmed.endsWith(".") ? "" : ".");
  }

  // --- choosing files ---

  let entries = []; // {file, item, progress, state}
  let uploadsRunning = 0;

  function setEntryState(entry, state, message) {
    entry.state = state;
    entry.item.dataset.state = state;
    entry.stateText.textContent = message;
    entry.remove.hidden = !(state === "ready" || state === "error");
  }

  function addFiles(files) {
    entries = entries.filter((entry) => {
      const finished = entry.state === "done" || entry.state === "error";
      if (finished) entry.item.remove();
      return !finished;
    });
    for (const file of files) {
      const progress = el("progress", { max: "100", value: "0", "aria-label": `Upload of ${file.name}` });
      progress.hidden = true;
      const remove = el("button", { type: "button", className: "button button--small button--ghost upload-item__remove" },
        "Remove", hidden(` ${file.name}`));
      const stateText = el("p", { className: "upload-item__state" });
      const item = el(
        "li",
        { className: "upload-item", "data-name": file.name },
        el("span", { className: "upload-item__name", title: file.name }, file.name),
        el("span", { className: "upload-item__size" }, fileSize(file.size)),
        remove,
        progress,
        stateText,
      );
      const entry = { file, item, progress, stateText, remove, state: "ready" };
      remove.addEventListener("click", () => {
        entries = entries.filter((other) => other !== entry);
        item.remove();
        updateUploadButton();
        fileInput.focus();
      });
      uploadList.append(item);
      entries.push(entry);
      if (file.size > maxResumableBytes) {
        setEntryState(entry, "error", `Too large: files can be at most ${fileSize(maxResumableBytes)}. It was not uploaded.`);
      } else {
        setEntryState(entry, "ready", "Ready to compress.");
      }
    }
    updateUploadButton();
  }

  function readyEntries() {
    return entries.filter((entry) => entry.state === "ready");
  }

  function updateUploadButton() {
    const count = readyEntries().length;
    uploadButton.disabled = count === 0;
    uploadButton.textContent = count > 1 ? `Compress ${count} files` : "Compress";
  }

  fileInput.addEventListener("change", () => {
    addFiles([...fileInput.files]);
    fileInput.value = "";
  });

  function hasFiles(event) {
    return [...(event.dataTransfer?.types || [])].includes("Files");
  }

  let dragDepth = 0;
  dropzone.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth += 1;
    dropzone.classList.add("dropzone--over");
  });
  dropzone.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) dropzone.classList.remove("dropzone--over");
  });
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dragDepth = 0;
    dropzone.classList.remove("dropzone--over");
    addFiles([...event.dataTransfer.files]);
  });
  // A file dropped beside the drop zone must not replace the page.
  for (const type of ["dragover", "drop"]) {
    document.addEventListener(type, (event) => {
      if (hasFiles(event)) event.preventDefault();
    });
  }

  function showLevelRange() {
    const option = formatSelect.selectedOptions[0];
    levelInput.min = option.dataset.low;
    levelInput.max = option.dataset.high;
    levelHint.textContent = `${option.dataset.low}–${option.dataset.high}; higher is smaller but slower.`;
  }
  formatSelect.addEventListener("change", showLevelRange);
  showLevelRange();

  // --- uploading: one POST /api/tasks per file, with a progress bar each ---

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const batch = readyEntries();
    const format = formatSelect.value;
    const level = levelInput.value.trim();
    for (const entry of batch) setEntryState(entry, "waiting", "Waiting to upload…");
    updateUploadButton();
    let next = 0;
    const runNext = () => {
      if (next >= batch.length) return Promise.resolve();
      const entry = batch[next];
      next += 1;
      return upload(entry, format, level).then(runNext);
    };
    for (let lane = 0; lane < UPLOAD_CONCURRENCY; lane += 1) runNext();
  });

  function setProgress(entry, fraction) {
    const percent = Math.min(100, Math.round(fraction * 100));
    entry.progress.value = percent;
    entry.stateText.textContent = `Uploading… ${percent}%`;
  }

  // Files above the threshold (read at each upload) go in resumable chunks.
  function upload(entry, format, level) {
    const threshold = Number(root.dataset.resumableThresholdBytes);
    if (sessionsUrl && window.comprimemeloUploads && entry.file.size > threshold) {
      return uploadResumable(entry, format, level);
    }
    return new Promise((resolve) => {
      const request = new XMLHttpRequest();
      request.open("POST", uploadUrl);
      request.responseType = "json";
      request.setRequestHeader("X-CSRF-Token", csrfToken);
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", (progress) => {
        if (progress.lengthComputable) setProgress(entry, progress.loaded / progress.total);
      });
      request.upload.addEventListener("load", () => {
        setProgress(entry, 1);
        entry.stateText.textContent = "Uploaded, saving…";
      });
      request.addEventListener("load", () => {
        const body = request.response;
        if (request.status === 201 && body) {
          entry.progress.value = 100;
          setEntryState(entry, "done", "Uploaded ✓ Compressing; follow it in the list below.");
          localChanges += 1;
          addTask(body);
          schedulePoll();
        } else if (request.status === 401) {
          setEntryState(entry, "error", "Your session has expired. Log in again, then retry.");
        } else {
          const message = body?.error?.message ? sentence(body.error.message) : `The server answered ${request.status}.`;
          setEntryState(entry, "error", request.status === 413 ? `Too large: ${message}` : message);
        }
        finish();
      });
      for (const failure of ["error", "abort", "timeout"]) {
        request.addEventListener(failure, () => {
          setEntryState(entry, "error", "The upload did not finish (network error). Please try again.");
          finish();
        });
      }
      function finish() {
        uploadsRunning -= 1;
        resolve();
      }
      const data = new FormData();
      data.append("fileName", entry.file, entry.file.name);
      data.append("newFormat", format);
      if (level !== "") data.append("level", level);
      uploadsRunning += 1;
      entry.progress.hidden = false;
      setProgress(entry, 0);
      request.send(data);
    });
  }

  async function uploadResumable(entry, format, level) {
    uploadsRunning += 1;
    entry.progress.hidden = false;
    const answer = await window.comprimemeloUploads.resumable(entry.file, {
      sessionsUrl,
      csrfToken,
      format,
      level,
      onProgress: (fraction) => setProgress(entry, fraction),
      onUploaded: () => {
        setProgress(entry, 1);
        entry.stateText.textContent = "Uploaded, saving…";
      },
    });
    uploadsRunning -= 1;
    const body = answer.body;
    if (answer.status === 201 && body) {
      entry.progress.value = 100;
      setEntryState(entry, "done", "Uploaded ✓ Compressing; follow it in the list below.");
      localChanges += 1;
      addTask(body);
      schedulePoll();
    } else if (answer.status === 401) {
      setEntryState(entry, "error", "Your session has expired. Log in again, then retry.");
    } else if (answer.resumable) {
      setEntryState(entry, "ready", `The upload stopped at ${entry.progress.value}%. Choose Compress to resume where it stopped.`);
      updateUploadButton();
    } else {
      const message = body?.error?.message ? sentence(body.error.message) : `The server answered ${answer.status}.`;
      setEntryState(entry, "error", answer.status === 413 ? `Too large: ${message}` : message);
    }
  }

  window.addEventListener("beforeunload", (event) => {
    if (uploadsRunning > 0) event.preventDefault();
  });

  refreshSummary();
  schedulePoll();
})();
