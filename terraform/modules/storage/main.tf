/**
 * The bucket holding uploads and archives: private (uniform access, public
 * access prevention enforced), objects deleted after var.retention_days, and
 * access logs written to a separate log bucket.
 */

resource "google_storage_bucket" "access_logs" {
  #checkov:skip=CKV_GCP_62:This is the access-log sink itself; logging it would log its own log writes.
  #checkov:skip=CKV_GCP_78:Access logs are append-only and expire by lifecycle; versions would only keep expired logs.
  project                     = var.project_id
  name                        = "${var.name}-access-logs"
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = var.labels

  lifecycle_rule {
    condition {
      age = var.access_log_retention_days
    }
    action {
      type = "Delete"
    }
  }
}

# Cloud Storage writes usage logs as this Google-owned group.
resource "google_storage_bucket_iam_member" "access_log_writer" {
  bucket = google_storage_bucket.access_logs.name
  role   = "roles/storage.objectCreator"
  member = "group:cloud-storage-analytics@google.com"
}

resource "google_storage_bucket" "files" {
  #checkov:skip=CKV_GCP_78:Versioning is var.versioning (off by default): uploads and archives are short-lived by design and a deleted file must really be gone.
  project                     = var.project_id
  name                        = var.name
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = var.labels

  versioning {
    enabled = var.versioning
  }

  logging {
    log_bucket        = google_storage_bucket.access_logs.name
    log_object_prefix = var.name
  }

  lifecycle_rule {
    condition {
      age = var.retention_days
    }
    action {
      type = "Delete"
    }
  }

  dynamic "lifecycle_rule" {
    for_each = var.versioning ? [var.noncurrent_retention_days] : []
    content {
      condition {
        days_since_noncurrent_time = lifecycle_rule.value
        with_state                 = "ARCHIVED"
      }
      action {
        type = "Delete"
      }
    }
  }

  dynamic "cors" {
    for_each = var.cors_origins == [] ? [] : [var.cors_origins]
    content {
      origin = cors.value
      method = ["GET", "PUT", "HEAD"]
      # The page's resumable uploads read Range (bytes received) and send Content-Range.
      response_header = ["Content-Type", "Content-Range", "Range", "X-GUploader-UploadID"]
      max_age_seconds = 3600
    }
  }
}

resource "google_storage_bucket_iam_member" "object_admin" {
  for_each = var.object_admin_members

  bucket = google_storage_bucket.files.name
  role   = "roles/storage.objectAdmin"
  member = each.value
}
