/**
 * The {@code nccl} communicator: a grpc world ({@link dev.asyncdiff.communicator.grpc}) whose GPU ranks send the
 * bytes of device-resident tensors to each other with NCCL, through the JavaCPP cuda presets.
 */
package dev.asyncdiff.communicator.nccl;
