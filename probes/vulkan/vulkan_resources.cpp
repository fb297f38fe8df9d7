// Buffers with their memory, compute pipelines from embedded SPIR-V with their descriptor
// sets, and a command buffer with its fence and timestamps; each handle has its owner.
#include <algorithm>

#include <fmt/format.h>

#include "probes/vulkan/vulkan.hpp"

namespace roofaudit::vk {

Buffer::Buffer(const Device& device, std::uint64_t bytes, Memory memory)
    : device_(device), bytes_(bytes), memory_(device.get()), buffer_(device.get()), mapping_(device.get()) {
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = bytes;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(device.get(), &info, nullptr, buffer_.out()), "vkCreateBuffer");
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(device.get(), buffer_.get(), &req);
  VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.allocationSize = req.size;
  const VkMemoryPropertyFlags coherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  switch (memory) {
    case Memory::device_local:
      alloc.memoryTypeIndex =
          device.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
      break;
    case Memory::host_visible:
      // Host memory: never the device-local window a discrete GPU maps (its BAR), where a
      // staging copy would be device to device and the host's reads run uncached.
      alloc.memoryTypeIndex = device.memory_type(req.memoryTypeBits, coherent, VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
                                                 VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
      break;
    case Memory::device_mapped:
      alloc.memoryTypeIndex = device.memory_type(req.memoryTypeBits, coherent | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
      break;
  }
  check(vkAllocateMemory(device.get(), &alloc, nullptr, memory_.out()), "vkAllocateMemory");
  check(vkBindBufferMemory(device.get(), buffer_.get(), memory_.get(), 0), "vkBindBufferMemory");
  if (memory != Memory::device_local) check(mapping_.map(memory_.get()), "vkMapMemory");
}

ComputePipeline::ComputePipeline(const Device& device, std::span<const std::uint32_t> spirv, std::uint32_t bindings,
                                 std::uint32_t push_bytes, std::uint32_t local_size, std::uint32_t max_sets)
    : ComputePipeline(device, spirv, bindings, push_bytes, std::vector<std::uint32_t>{local_size}, max_sets) {}

ComputePipeline::ComputePipeline(const Device& device, std::span<const std::uint32_t> spirv, std::uint32_t bindings,
                                 std::uint32_t push_bytes, std::vector<std::uint32_t> specialization,
                                 std::uint32_t max_sets)
    : device_(device), bindings_(bindings), push_bytes_(push_bytes),
      local_size_(specialization.empty() ? 1 : specialization[0]), specialization_(std::move(specialization)),
      module_(device.get()), set_layout_(device.get()), layout_(device.get()), pipeline_(device.get()), pool_(device.get()) {
  VkDevice dev = device.get();
  VkShaderModuleCreateInfo module{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  module.codeSize = spirv.size_bytes();
  module.pCode = spirv.data();
  check(vkCreateShaderModule(dev, &module, nullptr, module_.out()), "vkCreateShaderModule");

  std::vector<VkDescriptorSetLayoutBinding> b(bindings);
  for (std::uint32_t i = 0; i < bindings; ++i) {
    b[i].binding = i;
    b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    b[i].descriptorCount = 1;
    b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo set{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  set.bindingCount = bindings;
  set.pBindings = b.data();
  check(vkCreateDescriptorSetLayout(dev, &set, nullptr, set_layout_.out()), "vkCreateDescriptorSetLayout");

  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
  VkPipelineLayoutCreateInfo layout{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  layout.setLayoutCount = 1;
  layout.pSetLayouts = set_layout_.address();
  layout.pushConstantRangeCount = push_bytes ? 1 : 0;
  layout.pPushConstantRanges = &range;
  check(vkCreatePipelineLayout(dev, &layout, nullptr, layout_.out()), "vkCreatePipelineLayout");

  std::vector<VkSpecializationMapEntry> entries;
  for (std::uint32_t i = 0; i < specialization_.size(); ++i)
    entries.push_back({i, i * std::uint32_t(sizeof(std::uint32_t)), sizeof(std::uint32_t)});
  VkSpecializationInfo spec{std::uint32_t(entries.size()), entries.data(), specialization_.size() * sizeof(std::uint32_t),
                            specialization_.data()};
  VkComputePipelineCreateInfo pipeline{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  pipeline.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  pipeline.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  pipeline.stage.module = module_.get();
  pipeline.stage.pName = "main";
  pipeline.stage.pSpecializationInfo = &spec;
  pipeline.layout = layout_.get();
  check(vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &pipeline, nullptr, pipeline_.out()), "vkCreateComputePipelines");

  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, std::max(1u, bindings) * max_sets};
  VkDescriptorPoolCreateInfo pool{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  pool.maxSets = max_sets;
  pool.poolSizeCount = 1;
  pool.pPoolSizes = &size;
  check(vkCreateDescriptorPool(dev, &pool, nullptr, pool_.out()), "vkCreateDescriptorPool");
}

VkDescriptorSet ComputePipeline::bind(const std::vector<const Buffer*>& buffers) {
  if (buffers.size() != bindings_) throw Error("descriptor set: wrong number of buffers");
  VkDescriptorSetAllocateInfo alloc{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  alloc.descriptorPool = pool_.get();
  alloc.descriptorSetCount = 1;
  alloc.pSetLayouts = set_layout_.address();
  VkDescriptorSet set = VK_NULL_HANDLE;
  check(vkAllocateDescriptorSets(device_.get(), &alloc, &set), "vkAllocateDescriptorSets");
  std::vector<VkDescriptorBufferInfo> infos(buffers.size());
  std::vector<VkWriteDescriptorSet> writes(buffers.size());
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    infos[i] = {buffers[i]->get(), 0, VK_WHOLE_SIZE};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = set;
    writes[i].dstBinding = std::uint32_t(i);
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(device_.get(), std::uint32_t(writes.size()), writes.data(), 0, nullptr);
  return set;
}

void ComputePipeline::dispatch(VkCommandBuffer cmd, VkDescriptorSet set, const void* push, std::uint32_t groups) const {
  dispatch2d(cmd, set, push, groups, 1);
}

void ComputePipeline::dispatch2d(VkCommandBuffer cmd, VkDescriptorSet set, const void* push, std::uint32_t groups_x,
                                 std::uint32_t groups_y) const {
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline_.get());
  vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layout_.get(), 0, 1, &set, 0, nullptr);
  if (push_bytes_) vkCmdPushConstants(cmd, layout_.get(), VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes_, push);
  vkCmdDispatch(cmd, groups_x, groups_y, 1);
}

Commands::Commands(const Device& device, std::uint32_t timestamp_slots)
    : device_(device), pool_(device.get()), fence_(device.get()), queries_(device.get()), slots_(timestamp_slots) {
  VkDevice dev = device.get();
  VkCommandPoolCreateInfo pool{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pool.queueFamilyIndex = device.description().compute_queue_family;
  check(vkCreateCommandPool(dev, &pool, nullptr, pool_.out()), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  alloc.commandPool = pool_.get();
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  check(vkAllocateCommandBuffers(dev, &alloc, &cmd_), "vkAllocateCommandBuffers");
  VkFenceCreateInfo fence{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  check(vkCreateFence(dev, &fence, nullptr, fence_.out()), "vkCreateFence");
  if (slots_ && device.description().timestamps) {
    VkQueryPoolCreateInfo q{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    q.queryType = VK_QUERY_TYPE_TIMESTAMP;
    q.queryCount = slots_;
    check(vkCreateQueryPool(dev, &q, nullptr, queries_.out()), "vkCreateQueryPool");
  }
}

VkCommandBuffer Commands::begin() {
  check(vkResetCommandBuffer(cmd_, 0), "vkResetCommandBuffer");
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(cmd_, &begin), "vkBeginCommandBuffer");
  if (queries_.get()) vkCmdResetQueryPool(cmd_, queries_.get(), 0, slots_);
  return cmd_;
}

void Commands::timestamp(std::uint32_t slot) {
  if (!queries_.get()) throw Error("this Vulkan device has no timestamps on its compute queue");
  vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_.get(), slot);
}

void Commands::submit_and_wait() {
  check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &cmd_;
  check(vkResetFences(device_.get(), 1, fence_.address()), "vkResetFences");
  check(vkQueueSubmit(device_.queue(), 1, &submit, fence_.get()), "vkQueueSubmit");
  check(vkWaitForFences(device_.get(), 1, fence_.address(), VK_TRUE, std::uint64_t(600) * 1000000000), "vkWaitForFences");
}

double Commands::seconds_between(std::uint32_t from, std::uint32_t to) const {
  if (!queries_.get()) throw Error("this Vulkan device has no timestamps on its compute queue");
  std::uint64_t t[2] = {};
  check(vkGetQueryPoolResults(device_.get(), queries_.get(), from, 1, sizeof t[0], &t[0], sizeof t[0],
                              VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
        "vkGetQueryPoolResults");
  check(vkGetQueryPoolResults(device_.get(), queries_.get(), to, 1, sizeof t[1], &t[1], sizeof t[1],
                              VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
        "vkGetQueryPoolResults");
  const auto& d = device_.description();
  const std::uint64_t mask = d.timestamp_valid_bits >= 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << d.timestamp_valid_bits) - 1;
  const std::uint64_t ticks = (t[1] - t[0]) & mask;  // one wrap of the counter is tolerated
  return double(ticks) * d.timestamp_period_ns * 1e-9;
}

void compute_barrier(VkCommandBuffer cmd) {
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT;
  b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &b, 0,
                       nullptr, 0, nullptr);
}

void transfer_barrier(VkCommandBuffer cmd) {
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                    VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                       0, 1, &b, 0, nullptr, 0, nullptr);
}

void copy_buffer(VkCommandBuffer cmd, const Buffer& from, const Buffer& to, std::uint64_t from_offset,
                 std::uint64_t to_offset, std::uint64_t bytes) {
  VkBufferCopy region{from_offset, to_offset, bytes};
  vkCmdCopyBuffer(cmd, from.get(), to.get(), 1, &region);
}

}  // namespace roofaudit::vk
