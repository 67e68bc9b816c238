package dev.asyncdiff.communicator.grpc;

import dev.asyncdiff.spi.CommunicatorProvider;

/**
 * A communicator whose ranks form a grpc world ({@code asyncdiff worker} joins it): {@code grpc} itself, or one
 * that adds a {@link DeviceLink} for device-resident tensors ({@code nccl}).
 */
public interface GrpcWorldProvider extends CommunicatorProvider {
    /** The device link every rank of such a world opens; null for grpc alone. */
    DeviceLink.Factory deviceLink();
}
