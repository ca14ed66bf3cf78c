/**
 * Project APIs and one service account per role, with the project-level roles
 * each one needs. Resource-level grants (topic, subscription, bucket, secret)
 * live next to those resources in their modules.
 */

locals {
  # "web/roles/logging.logWriter" => { account = "web", role = "roles/logging.logWriter" }
  project_grants = merge([
    for account, spec in var.service_accounts : {
      for role in spec.project_roles : "${account}/${role}" => { account = account, role = role }
    }
  ]...)

  self_token_creators = toset([
    for account, spec in var.service_accounts : account if spec.sign_blobs
  ])
}

resource "google_project_service" "this" {
  for_each = toset(var.services)

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

resource "google_service_account" "this" {
  for_each = var.service_accounts

  project      = var.project_id
  account_id   = "${var.prefix}-${each.key}"
  display_name = each.value.display_name
  description  = each.value.description

  depends_on = [google_project_service.this]
}

resource "google_project_iam_member" "this" {
  for_each = local.project_grants

  project = var.project_id
  role    = each.value.role
  member  = google_service_account.this[each.value.account].member
}

# Signed URLs from a VM: the account signs blobs through the IAM Credentials
# API as itself, which needs Token Creator on itself and on nothing else.
resource "google_service_account_iam_member" "self_token_creator" {
  for_each = local.self_token_creators

  service_account_id = google_service_account.this[each.key].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.this[each.key].member
}
