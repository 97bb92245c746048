// Starts Swagger UI for /api/v1/docs. A file, not an inline script, so the CSP stays strict.
window.addEventListener("load", function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
    // The OpenAPI document comes from this server; never ask a third party to validate it.
    validatorUrl: null,
    persistAuthorization: false
  });
});
