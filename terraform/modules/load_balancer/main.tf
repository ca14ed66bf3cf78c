/**
 * Global external Application Load Balancer (EXTERNAL_MANAGED) in front of
 * the web group: Google-managed certificate for var.domains, MODERN TLS 1.2+
 * policy, Cloud Armor (rate-based ban on the auth API, Log4j canary rule,
 * default allow), request logging, and an HTTP -> HTTPS redirect on port 80.
 */

locals {
  # A certificate's domains cannot change in place: a new name per domain set
  # lets create_before_destroy swap certificates without downtime.
  certificate_suffix = substr(sha256(join(",", sort(var.domains))), 0, 8)
}

resource "google_compute_global_address" "this" {
  project      = var.project_id
  name         = "${var.name}-ip"
  address_type = "EXTERNAL"
  ip_version   = "IPV4"
}

resource "google_compute_managed_ssl_certificate" "this" {
  project = var.project_id
  name    = "${var.name}-cert-${local.certificate_suffix}"

  managed {
    domains = var.domains
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_ssl_policy" "this" {
  project         = var.project_id
  name            = "${var.name}-ssl-policy"
  profile         = "MODERN"
  min_tls_version = "TLS_1_2"
}

resource "google_compute_security_policy" "this" {
  project     = var.project_id
  name        = "${var.name}-armor"
  description = "comprimemelo edge policy: auth rate limiting, CVE canary, default allow"
  type        = "CLOUD_ARMOR"

  rule {
    action      = "deny(403)"
    priority    = 900
    description = "Block Log4j (CVE-2021-44228) exploit attempts"
    preview     = false

    match {
      expr {
        expression = "evaluatePreconfiguredExpr('cve-canary')"
      }
    }
  }

  rule {
    action      = "rate_based_ban"
    priority    = 1000
    description = "Rate-limit sign-up/log-in per client IP, ban abusers"

    match {
      expr {
        expression = "request.path.matches('/api/auth/.*')"
      }
    }

    rate_limit_options {
      conform_action   = "allow"
      exceed_action    = "deny(429)"
      enforce_on_key   = "IP"
      ban_duration_sec = var.auth_rate_limit.ban_duration_sec

      rate_limit_threshold {
        count        = var.auth_rate_limit.count
        interval_sec = var.auth_rate_limit.interval_sec
      }
    }
  }

  dynamic "rule" {
    for_each = var.extra_security_rules
    content {
      action      = rule.value.action
      priority    = rule.value.priority
      description = rule.key

      match {
        expr {
          expression = rule.value.expression
        }
      }
    }
  }

  rule {
    action      = "allow"
    priority    = 2147483647
    description = "Default allow"

    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }
}

resource "google_compute_health_check" "this" {
  project             = var.project_id
  name                = "${var.name}-readyz"
  check_interval_sec  = 5
  timeout_sec         = 5
  healthy_threshold   = 2
  unhealthy_threshold = 2

  http_health_check {
    port_specification = "USE_NAMED_PORT"
    port_name          = var.named_port
    request_path       = "/readyz"
  }

  log_config {
    enable = true
  }
}

resource "google_compute_backend_service" "this" {
  project               = var.project_id
  name                  = "${var.name}-backend"
  protocol              = "HTTP"
  port_name             = var.named_port
  load_balancing_scheme = "EXTERNAL_MANAGED"
  timeout_sec           = var.backend_timeout_sec
  health_checks         = [google_compute_health_check.this.id]
  security_policy       = google_compute_security_policy.this.id

  dynamic "backend" {
    for_each = var.backends
    content {
      group           = backend.value
      balancing_mode  = "UTILIZATION"
      max_utilization = 0.8
      capacity_scaler = 1.0
    }
  }

  log_config {
    enable      = true
    sample_rate = 1.0
  }

  connection_draining_timeout_sec = 60
}

resource "google_compute_url_map" "https" {
  project         = var.project_id
  name            = "${var.name}-https"
  default_service = google_compute_backend_service.this.id
}

resource "google_compute_target_https_proxy" "this" {
  project          = var.project_id
  name             = "${var.name}-https-proxy"
  url_map          = google_compute_url_map.https.id
  ssl_certificates = [google_compute_managed_ssl_certificate.this.id]
  ssl_policy       = google_compute_ssl_policy.this.id
}

resource "google_compute_global_forwarding_rule" "https" {
  project               = var.project_id
  name                  = "${var.name}-https"
  ip_address            = google_compute_global_address.this.address
  ip_protocol           = "TCP"
  port_range            = "443"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  target                = google_compute_target_https_proxy.this.id
}

resource "google_compute_url_map" "http_redirect" {
  project = var.project_id
  name    = "${var.name}-http-redirect"

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

resource "google_compute_target_http_proxy" "redirect" {
  project = var.project_id
  name    = "${var.name}-http-proxy"
  url_map = google_compute_url_map.http_redirect.id
}

resource "google_compute_global_forwarding_rule" "http" {
  project               = var.project_id
  name                  = "${var.name}-http"
  ip_address            = google_compute_global_address.this.address
  ip_protocol           = "TCP"
  port_range            = "80"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  target                = google_compute_target_http_proxy.redirect.id
}
