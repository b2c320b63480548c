// Passkeys (WebAuthn) on the portal's pages: the only script they load (CSP script-src 'self').
//
// <form method="post" action="…" data-passkey="get|create" hidden
//       data-options='{…}' or data-options-url="…"   (the server's options JSON)
//       data-submit-url="…"                           (else the form's action)
//       data-submit-as="json"                         (else a plain form post)
//       data-error-message="…">                       (else the message below)
//   <input type="hidden" name="csrf_token" value="…">
//   <button type="submit">…</button>
//   <p role="alert" hidden></p>
// </form>
//
// The form stays hidden where passkeys cannot work (no script, an old browser), so nobody
// is offered a button that does nothing. The response goes back as {"credential": …}:
// a form field holding that JSON, or a JSON body; then the page goes where the server says.
"use strict";

(function () {
  var MESSAGES = {
    get: "La clé d'accès n'a pas été reconnue. Réessayez ou utilisez votre mot de passe.",
    create: "La clé d'accès n'a pas pu être ajoutée. Réessayez.",
    known: "Cette clé d'accès est déjà enregistrée sur cet appareil.",
  };
  var PKC = window.PublicKeyCredential;
  if (!PKC || !PKC.parseCreationOptionsFromJSON || !PKC.parseRequestOptionsFromJSON) {
    return;
  }

  function csrfToken(form) {
    var input = form.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  function say(form, text) {
    var alert = form.querySelector('[role="alert"]');
    if (!alert) return;
    alert.textContent = text;
    alert.hidden = false;
  }

  async function options(form) {
    if (form.dataset.options) return JSON.parse(form.dataset.options);
    var response = await fetch(form.dataset.optionsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(form), "Accept": "application/json" },
    });
    if (!response.ok) throw new Error("options: " + response.status);
    var body = await response.json();
    return body.publicKey || body;
  }

  async function ceremony(form, mode) {
    var json = await options(form);
    var credential = mode === "create"
      ? await navigator.credentials.create({ publicKey: PKC.parseCreationOptionsFromJSON(json) })
      : await navigator.credentials.get({ publicKey: PKC.parseRequestOptionsFromJSON(json) });
    return credential.toJSON();
  }

  async function submit(form, credential) {
    var url = form.dataset.submitUrl || form.action;
    if (form.dataset.submitAs !== "json") {
      var field = form.querySelector('input[name="credential"]');
      if (!field) {
        field = document.createElement("input");
        field.type = "hidden";
        field.name = "credential";
        form.appendChild(field);
      }
      field.value = JSON.stringify(credential);
      form.action = url;
      form.submit(); // the browser posts and follows the redirect itself
      return;
    }
    var response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(form) },
      body: JSON.stringify({ credential: credential }),
    });
    if (!response.ok) throw new Error("submit: " + response.status);
    // A JSON answer may name the next page ({"redirect": …}); a redirect that fetch followed
    // ends where the page must go (fetched twice then: prefer the form post for pages).
    var body = (response.headers.get("Content-Type") || "").indexOf("json") >= 0
      ? await response.json() : {};
    window.location.assign(body.redirect || response.url);
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    var mode = form.dataset.passkey === "create" ? "create" : "get";
    var busy = false;
    form.hidden = false;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (busy) return;
      busy = true;
      var alert = form.querySelector('[role="alert"]');
      if (alert) alert.hidden = true;
      try {
        await submit(form, await ceremony(form, mode));
      } catch (error) {
        // NotAllowedError: cancelled, timed out, or no passkey of this site on the device.
        var known = mode === "create" && error && error.name === "InvalidStateError";
        say(form, known ? MESSAGES.known : form.dataset.errorMessage || MESSAGES[mode]);
      } finally {
        busy = false;
      }
    });
  });
})();
