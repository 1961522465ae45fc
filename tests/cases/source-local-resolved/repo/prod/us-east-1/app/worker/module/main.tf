variable "name" {
  type = string
}

variable "size" {
  type = number
}
